"""Marker payloads written into user text, and the check that they came out as text only.

Every payload carries the word ``pwmark``. A page is safe when no element the
browser would build from it carries an attribute or script that came from a
payload: no ``data-pwmark``, no ``hx-*`` or ``on*`` attribute naming pwmark, no
inline script mentioning it and no ``javascript:`` address anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

MARK = "pwmark"
# Template syntax comes first so a cut-off copy still shows whether a template ran it.
TEMPLATE_SYNTAX = "{{ pwmark }}{% pwmark %}"
# Everything a browser or htmx could act on, in 200 characters (most titles' limit).
FULL = (
    TEMPLATE_SYNTAX + "\"'><i hx-get=/pwmark hx-trigger=load data-pwmark=1></i>"
    "<img src=x onerror=pwmark()><script>pwmark()</script>"
    "<svg onload=pwmark()></svg><a href=javascript:pwmark()>y</a>"
)
# Long text also tries to add lines to calendar files and to start a spreadsheet formula.
LONG = "=pwmark()+" + FULL + "\r\nX-PWMARK:1\r\nSUMMARY:pwmark\r\n" + FULL
MEDIUM = (
    "\"'><i hx-get=/pwmark/ hx-trigger=load data-pwmark=m>m</i><a href=javascript:pwmark()>z</a>"
)
SHORT = "<i hx-get=/pwmark/ data-pwmark=s>s</i>"
TINY = "<i data-pwmark=t>t</i>"
# URL columns are validated on the way in; written straight in, they must still not break out.
URL = "https://example.org/pwmark\"'><i data-pwmark=u hx-get=/pwmark/>u</i>"
PAYLOADS = (LONG, FULL, MEDIUM, SHORT, TINY)

_ADDRESS_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "hx-get", "hx-post"}


def payload_for(max_length: int | None) -> str | None:
    """The richest payload that fits a column, or None when none does."""
    for payload in PAYLOADS:
        if max_length is None or len(payload) <= max_length:
            return payload
    return None


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    shows_marker: bool = False
    shows_template_syntax: bool = False


_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip


class _Scan(HTMLParser):
    """Reads a page's tags as a browser's tokenizer does, keeping the open elements."""

    def __init__(self, where: str) -> None:
        super().__init__(convert_charrefs=True)
        self.where = where
        self.found = Findings()
        self.open: list[tuple[str, bool]] = []  # (tag, inside hx-disable)
        self.texts: list[str] = []
        self.uses_htmx = False
        self.live: list[str] = []  # marker text htmx would process

    def _attributes(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, raw in attrs:
            value = raw or ""
            if name == "data-pwmark":
                self.found.problems.append(f"{self.where}: <{tag}> carries data-pwmark={value!r}")
            elif name.startswith(("hx-", "on", "data-hx-")) and MARK in value:
                self.found.problems.append(f"{self.where}: <{tag}> carries {name}={value!r}")
            elif name in _ADDRESS_ATTRIBUTES and re.match(r"\s*javascript:", value, re.I):
                self.found.problems.append(
                    f"{self.where}: <{tag}> has a javascript: address {value!r}"
                )
        if tag == "script" and "htmx" in (dict(attrs).get("src") or ""):
            self.uses_htmx = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attributes(tag, attrs)
        if tag not in _VOID:
            disabled = bool(self.open and self.open[-1][1]) or "hx-disable" in dict(attrs)
            self.open.append((tag, disabled))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attributes(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        tags = [t for t, _ in self.open]
        current = tags[-1] if tags else ""
        if current == "script":
            if MARK in data:
                self.found.problems.append(f"{self.where}: a <script> runs {data[:60]!r}")
            return
        if current == "style":
            return
        self.texts.append(data)
        if MARK in data and "head" not in tags and not (self.open and self.open[-1][1]):
            self.live.append(data.strip()[:60])


def check_html(html: str | bytes, where: str) -> Findings:
    """Read a page as a browser would and list every element or script a payload made.

    On a page that loads htmx, user text must also sit inside an ``hx-disable``
    element, so that htmx would ignore it even if it ever became markup.
    """
    scan = _Scan(where)
    scan.feed(html.decode() if isinstance(html, bytes) else html)
    scan.close()
    found = scan.found
    text = "".join(scan.texts)
    found.shows_marker = MARK in text
    found.shows_template_syntax = TEMPLATE_SYNTAX in text
    if scan.uses_htmx:
        found.problems += [f"{where}: user text outside hx-disable: {t!r}" for t in scan.live]
    return found
