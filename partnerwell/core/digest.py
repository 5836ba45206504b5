"""The sections of the email digest, which other apps contribute.

core imports no other app, so each app registers its sections from its
AppConfig.ready(); the digest task asks every section for a person's items and
leaves out the sections the person unsubscribed from. Each section has its own
signed unsubscribe link, which works without signing in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.core import signing

from partnerwell.core.models import User


@dataclass(frozen=True)
class DigestItem:
    """One line of a digest: what, a detail line, and where to see it (a site path)."""

    title: str
    detail: str
    path: str
    # Items of one section may be grouped under sub-headings (for example OVERDUE).
    group: str = ""


# provider(person, since, today) -> the person's items. `since` is when their last digest
# went out (or the start of the period for a first one). One or two queries each, whatever
# the number of items.
Provider = Callable[[User, dt.datetime, dt.date], list[DigestItem]]


@dataclass(frozen=True)
class Section:
    kind: str
    label: str
    heading: str
    # How the subject line counts the items: (one, many), for example ("new papers pack", ...).
    nouns: tuple[str, str]
    provider: Provider
    order: int

    def count(self, n: int) -> str:
        return f"{n} {self.nouns[0] if n == 1 else self.nouns[1]}"


_sections: dict[str, Section] = {}


def register_section(
    *,
    kind: str,
    label: str,
    heading: str,
    nouns: tuple[str, str],
    provider: Provider,
    order: int,
) -> None:
    """Add a section to everyone's digest; `label` names it on the settings page."""
    _sections[kind] = Section(kind, label, heading, nouns, provider, order)


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.kind))


def section(kind: str) -> Section | None:
    return _sections.get(kind)


def choices() -> list[tuple[str, str]]:
    return [(s.kind, s.label) for s in sections()]


# Unsubscribe links ------------------------------------------------------------------

_SALT = "partnerwell.digest.unsubscribe"


def unsubscribe_token(person: User, kind: str) -> str:
    """A signed token naming the person and the section; no expiry, as old emails linger."""
    return signing.dumps({"p": person.pk, "k": kind}, salt=_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """The person's id and the section kind; raises signing.BadSignature if tampered with."""
    data = signing.loads(token, salt=_SALT)
    if not isinstance(data, dict) or not isinstance(data.get("p"), int):
        raise signing.BadSignature("The token does not name a person.")
    kind = data.get("k")
    if not isinstance(kind, str) or kind not in _sections:
        raise signing.BadSignature("The token does not name a section of the digest.")
    return data["p"], kind
