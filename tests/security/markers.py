"""Marker payloads written into user text, and the check that they came out as text only.

Every payload carries the word ``pwmark``. A page is safe when no element the
browser would build from it carries an attribute or script that came from a
payload: no ``data-pwmark``, no ``hx-*`` or ``on*`` attribute naming pwmark, no
inline script mentioning it and no ``javascript:`` address anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tinyhtml5

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
MEDIUM = "\"'><i hx-get=/pwmark/ hx-trigger=load data-pwmark=m>m</i><a href=javascript:pwmark()>z</a>"
SHORT = "<i hx-get=/pwmark/ data-pwmark=s>s</i>"
# URL columns are validated on the way in; written straight in, they must still not break out.
URL = "https://example.org/pwmark\"'><i data-pwmark=u hx-get=/pwmark/>u</i>"
PAYLOADS = (LONG, FULL, MEDIUM, SHORT)

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


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def check_html(html: str | bytes, where: str) -> Findings:
    """Parse a page as a browser would and list every element a payload made."""
    found = Findings()
    tree = tinyhtml5.parse(html)
    texts: list[str] = []
    for element in tree.iter():
        tag = _local(str(element.tag))
        for raw_name, value in element.attrib.items():
            name = _local(raw_name).lower()
            value = str(value)
            if name == "data-pwmark":
                found.problems.append(f"{where}: <{tag}> carries data-pwmark={value!r}")
            elif (name.startswith(("hx-", "on", "data-hx-"))) and MARK in value:
                found.problems.append(f"{where}: <{tag}> carries {name}={value!r}")
            elif name in _ADDRESS_ATTRIBUTES and re.match(r"\s*javascript:", value, re.I):
                found.problems.append(f"{where}: <{tag}> has a javascript: address {value!r}")
        if tag == "script" and MARK in (element.text or ""):
            found.problems.append(f"{where}: a <script> runs {element.text!r}")
        if tag not in {"script", "style"}:
            texts.extend(t for t in (element.text, element.tail) if t)
        else:
            texts.append(element.tail or "")
    text = "".join(texts)
    found.shows_marker = MARK in text
    found.shows_template_syntax = TEMPLATE_SYNTAX in text
    return found
