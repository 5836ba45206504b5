"""The health-check headline on the partnership page."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.healthcheck.models import Round
from partnerwell.healthcheck.results import round_results


def health_check_panel(partnership: Partnership, user: User) -> dict[str, Any] | None:
    rounds = Round.objects.filter(partnership=partnership).select_related("framework")
    latest = rounds.filter(opens_at__lte=timezone.now()).order_by("-opens_at").first()
    if latest is None:
        return {"latest": None, "partnership": partnership}
    results = round_results(latest, headline=True)
    change = results["change"]["principles"]
    return {
        "partnership": partnership,
        "latest": latest,
        "results": results,
        "moved_up": [c for c in change if c["beyond_noise"] and (c["difference"] or 0) > 0],
        "moved_down": [c for c in change if c["beyond_noise"] and (c["difference"] or 0) < 0],
        "disputed": sum(1 for a in results["areas"] for p in a["principles"] if p["disputed"]),
        "concerns": [
            p["title"] for a in results["areas"] for p in a["principles"] if p["band"] == "concern"
        ],
    }
