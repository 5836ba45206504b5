"""Evidence from the partnership's records, set beside what members rate.

Other apps (delivery, meetings) register indicators here from their
AppConfig.ready(); healthcheck imports none of them. Each indicator turns a
partnership's records into a 0–100 value as of a date, with a rule written in
plain words. A framework file names, per principle, the indicators that speak
to it; the results then flag a blind spot where members rate a principle a
strength (75+) but the evidence is a concern (below 50), and an unsung
strength the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from partnerwell.core.models import Partnership
from partnerwell.healthcheck.scoring import BAND_DEVELOPING, BAND_STRENGTH, band

Compute = Callable[[Partnership, dt.date], float | None]


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    rule: str
    compute: Compute


_indicators: dict[str, Indicator] = {}


def register(*, key: str, title: str, rule: str, compute: Compute) -> None:
    _indicators[key] = Indicator(key, title, rule, compute)


def indicators() -> list[Indicator]:
    return sorted(_indicators.values(), key=lambda i: i.title)


def flag(rating: float | None, evidence: float | None) -> str | None:
    """'blind_spot', 'unsung_strength' or None, from a principle's score and its evidence."""
    if rating is None or evidence is None:
        return None
    if rating >= BAND_STRENGTH and evidence < BAND_DEVELOPING:
        return "blind_spot"
    if rating < BAND_DEVELOPING and evidence >= BAND_STRENGTH:
        return "unsung_strength"
    return None


def evidence_for(
    partnership: Partnership,
    areas: list[dict[str, Any]],
    on: dt.date,
    exact: Mapping[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """One row per principle and indicator it names, each indicator computed once.

    ``exact`` gives the principles' unrounded scores by key: bands and flags are
    judged on unrounded figures (74.96 is not a strength), and rounded only for display.
    """
    values: dict[str, float | None] = {}
    rows = []
    for area in areas:
        for principle in area["principles"]:
            for key in principle.get("evidence_keys", []):
                indicator = _indicators.get(key)
                if indicator is None:
                    continue
                if key not in values:
                    values[key] = indicator.compute(partnership, on)
                value = values[key]
                score = exact.get(principle["key"]) if exact is not None else principle["score"]
                rows.append(
                    {
                        "principle": principle["key"],
                        "principle_title": principle["title"],
                        "indicator": key,
                        "indicator_title": indicator.title,
                        "rule": indicator.rule,
                        "value": None if value is None else round(value, 1),
                        "band": band(value),
                        "flag": flag(score, value),
                    }
                )
    return rows
