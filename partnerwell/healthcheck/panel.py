"""The health-check headline on the partnership page."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.healthcheck.models import Round
from partnerwell.healthcheck.results import round_results


def health_check_panel(partnership: Partnership, user: User) -> dict[str, Any] | None:
    """The latest closed round's headline, and how the round now open is going.

    An open round shows only when it closes and how many have answered: its
    results appear when it closes (healthcheck.access.results_visible).
    """
    now = timezone.now()
    rounds = Round.objects.filter(partnership=partnership).select_related("framework")
    closed = Q(closed_early_at__lte=now) | Q(closes_at__lte=now)
    latest = rounds.filter(closed).order_by("-opens_at").first()
    current = (
        rounds.filter(opens_at__lte=now, closes_at__gt=now)
        .filter(Q(closed_early_at__isnull=True) | Q(closed_early_at__gt=now))
        .order_by("closes_at")
        .first()
    )
    panel: dict[str, Any] = {"partnership": partnership, "latest": latest, "open": current}
    if current is not None:
        panel["open_answered"] = current.answered_count
    if latest is None:
        return panel
    results = round_results(latest, headline=True)
    change = results["change"]["principles"]
    return {
        **panel,
        "results": results,
        "moved_up": [c for c in change if c["beyond_noise"] and (c["difference"] or 0) > 0],
        "moved_down": [c for c in change if c["beyond_noise"] and (c["difference"] or 0) < 0],
        "disputed": sum(1 for a in results["areas"] for p in a["principles"] if p["disputed"]),
        "concerns": [
            p["title"] for a in results["areas"] for p in a["principles"] if p["band"] == "concern"
        ],
    }
