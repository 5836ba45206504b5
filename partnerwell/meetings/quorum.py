"""Quorum rules, checked against who is present. Pure: no Django, no database.

A partnership's rule has up to four parts (MeetingSettings): a minimum number of
members, at least one member from each chosen organisation, from each chosen
sector, and from each side. Every part that is set must hold; with no part set
there is no rule and the result is neither met nor missed (``met is None``).
A deputy counts for the organisation, sector and side of the member they stand
in for, so callers pass the member's details for a deputy's row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QuorumRule:
    """The parts of a quorum rule; names are carried so that what is missing reads well."""

    min_members: int | None = None
    # organisation id -> name
    organisations: Mapping[int, str] = field(default_factory=dict)
    # sector value -> label
    sectors: Mapping[str, str] = field(default_factory=dict)
    # side id -> name; empty unless every side must be represented
    sides: Mapping[int, str] = field(default_factory=dict)

    @property
    def is_set(self) -> bool:
        return bool(self.min_members or self.organisations or self.sectors or self.sides)

    def describe(self) -> list[str]:
        """The rule in words, one sentence a part."""
        return [check.rule for check in check_quorum(self, []).checks]


@dataclass(frozen=True)
class PresentMember:
    """Someone counted as present: a member, or a deputy standing in for one."""

    organisation_id: int
    sector: str
    side_id: int | None = None


@dataclass(frozen=True)
class QuorumCheck:
    rule: str
    met: bool
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "met": self.met, "missing": list(self.missing)}


@dataclass(frozen=True)
class QuorumResult:
    """Whether the quorum is met (None when there is no rule) and each part's outcome."""

    met: bool | None
    checks: list[QuorumCheck]
    present: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "met": self.met,
            "present": self.present,
            "checks": [check.as_dict() for check in self.checks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuorumResult:
        checks = [
            QuorumCheck(rule=str(c["rule"]), met=bool(c["met"]), missing=list(c["missing"]))
            for c in data.get("checks", [])
        ]
        return cls(met=data.get("met"), checks=checks, present=int(data.get("present", 0)))

    @property
    def missing(self) -> list[str]:
        return [m for check in self.checks for m in check.missing]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _each_of(what: str, names: Iterable[str]) -> str:
    return f"At least one member present from each of these {what}: {', '.join(names)}."


def check_quorum(rule: QuorumRule, present: Iterable[PresentMember]) -> QuorumResult:
    """Check each set part of the rule against the people present."""
    people = list(present)
    checks: list[QuorumCheck] = []
    if rule.min_members:
        short = rule.min_members - len(people)
        checks.append(
            QuorumCheck(
                rule=f"At least {_plural(rule.min_members, 'member')} present.",
                met=short <= 0,
                missing=[f"{_plural(short, 'more member')}"] if short > 0 else [],
            )
        )
    if rule.organisations:
        here = {p.organisation_id for p in people}
        missing = [name for pk, name in rule.organisations.items() if pk not in here]
        checks.append(
            QuorumCheck(
                rule=_each_of("organisations", rule.organisations.values()),
                met=not missing,
                missing=missing,
            )
        )
    if rule.sectors:
        here_sectors = {p.sector for p in people}
        missing = [label for value, label in rule.sectors.items() if value not in here_sectors]
        checks.append(
            QuorumCheck(
                rule=_each_of("sectors", rule.sectors.values()), met=not missing, missing=missing
            )
        )
    if rule.sides:
        here_sides = {p.side_id for p in people}
        missing = [name for pk, name in rule.sides.items() if pk not in here_sides]
        checks.append(
            QuorumCheck(
                rule="At least one member present from each side.", met=not missing, missing=missing
            )
        )
    met = all(check.met for check in checks) if checks else None
    return QuorumResult(met=met, checks=checks, present=len(people))
