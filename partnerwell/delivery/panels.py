"""The delivery dashboard on the partnership page: what needs attention, and what went well.

Every figure is a COUNT or a short, sliced list, so the panel costs the same
number of queries whatever the size of the partnership's records.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import Action, Issue, IssueStatus, Measure, Risk, Win
from partnerwell.delivery.risks import (
    ABOVE_TARGET,
    overdue_q,
    rating_band,
    register_counts,
    with_ratings,
)

# How many records each part of the panel lists by name.
TOP = 3


def _measures_off_track(partnership: Partnership) -> dict[str, Any] | None:
    """Measures off track, if the measures module offers its status rule; else None."""
    try:
        from partnerwell.delivery.measures import OFF_TRACK, status_for, with_latest
    except ImportError:
        return None
    measures = list(with_latest(Measure.objects.filter(partnership=partnership)).order_by("title"))
    off = [m for m in measures if (s := status_for(m)) is not None and s.status == OFF_TRACK]
    return {"total": len(measures), "off_track": len(off), "top": off[:TOP]}


def delivery_panel(partnership: Partnership, user: User) -> dict[str, Any]:
    today = timezone.localdate()
    overdue = Action.objects.filter(partnership=partnership).overdue(today)
    attention = (
        with_ratings(Risk.objects.filter(partnership=partnership))
        .filter(overdue_q(today) | ABOVE_TARGET)
        .select_related("owner__person")
        .order_by("-rating_value", "review_on", "pk")
    )
    open_issues = Issue.objects.filter(partnership=partnership, status=IssueStatus.OPEN)
    return {
        "partnership": partnership,
        "today": today,
        "overdue_actions": {
            "count": overdue.count(),
            "top": list(overdue.select_related("owner__person").order_by("due_date", "pk")[:TOP]),
        },
        "measures": _measures_off_track(partnership),
        "risks": {
            **register_counts(partnership, today),
            "attention": attention.count(),
            "top": [
                {
                    "risk": r,
                    "band": rating_band(r.rating),
                    "overdue": r.review_on < today,
                    "above_target": r.rating > r.target_rating,
                }
                for r in attention[:TOP]
            ],
        },
        "issues": {
            "count": open_issues.count(),
            "top": list(
                open_issues.select_related("raised_by__person").order_by("raised_on")[:TOP]
            ),
        },
        "wins": list(
            Win.objects.filter(partnership=partnership)
            .select_related("outcome")
            .order_by("-won_on", "-pk")[:TOP]
        ),
    }
