"""Every level is computed from unrounded figures; rounding is for display only.

Planted statement sums (what the database would return) are put through the same
assembly the results use, on cases where rounding first gives a different answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from partnerwell.core.models import Partnership
from partnerwell.healthcheck import evidence
from partnerwell.healthcheck.models import Statement
from partnerwell.healthcheck.results import _round_number, _score_items
from partnerwell.healthcheck.scoring import StatementAgg
from tests.healthcheck.builders import outline_framework

# Three areas of one principle and one statement each.
OUTLINE = """\
# Working together
## Trust
- We trust each other.
# Deciding
## Decisions
- Decisions are made jointly.
# Delivery
## Results
- We deliver what we agree.
"""


def _planted(
    partnership: Partnership, scores: dict[str, float]
) -> tuple[list[dict[str, Any]], float | None, dict[str, float | None]]:
    framework = outline_framework(partnership, outline=OUTLINE)
    statements = list(
        Statement.objects.filter(framework=framework).select_related("principle__area")
    )
    stats = {
        s.pk: StatementAgg(n=1, total=scores[s.text], total_sq=scores[s.text] ** 2)
        for s in statements
    }
    return _score_items(statements, stats, {}, True)


@pytest.mark.django_db
def test_it_bands_and_averages_from_unrounded_scores(partnership_a: Partnership) -> None:
    areas, overall, exact = _planted(
        partnership_a,
        {
            "We trust each other.": 74.96,
            "Decisions are made jointly.": 50.16,
            "We deliver what we agree.": 50.16,
        },
    )
    by_title = {a["title"]: a for a in areas}
    trust = by_title["Working together"]
    # 74.96 shows as 75.0 but is below 75: developing, at every level.
    assert (trust["score"], trust["band"]) == (75.0, "developing")
    assert (trust["principles"][0]["score"], trust["principles"][0]["band"]) == (75.0, "developing")
    # Overall (74.96 + 50.16 + 50.16) / 3 = 58.4267, shown 58.4; from the rounded areas
    # (75.0 + 50.2 + 50.2) / 3 = 58.4667 would have shown 58.5.
    assert overall == pytest.approx(58.42667, abs=1e-4)
    assert _round_number(overall) == 58.4
    assert sorted(exact.values()) == pytest.approx([50.16, 50.16, 74.96])


@pytest.mark.django_db
def test_it_flags_blind_spots_from_unrounded_scores(
    partnership_a: Partnership, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Records say 49.96 (a concern, shown as 50.0); members 74.96 (developing, shown 75.0).
    monkeypatch.setattr(evidence, "_indicators", {})
    evidence.register(key="planted", title="Planted", rule="Planted.", compute=lambda p, d: 49.96)
    areas = [
        {
            "principles": [
                {"key": "trust", "title": "Trust", "score": 75.0, "evidence_keys": ["planted"]}
            ]
        }
    ]
    [row] = evidence.evidence_for(partnership_a, areas, dt.date(2026, 1, 1), {"trust": 74.96})
    assert (row["value"], row["band"]) == (50.0, "concern")
    # Not a strength, so not a blind spot, whatever the rounded figures suggest.
    assert row["flag"] is None
    [strong] = evidence.evidence_for(partnership_a, areas, dt.date(2026, 1, 1), {"trust": 75.0})
    assert strong["flag"] == "blind_spot"
