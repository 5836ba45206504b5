"""The membership overview of one partnership, built in a fixed number of queries."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.db.models.functions import Lower

from partnerwell.core.models import Membership, Partnership, Role, Sector


def membership_overview(partnership: Partnership) -> dict[str, Any]:
    members = list(
        Membership.objects.filter(partnership=partnership)
        .select_related("person", "organisation", "side", "deputy_for__person")
        .order_by(Lower("organisation__name"), "person__name")
    )
    current = [m for m in members if m.is_current]
    ended = [m for m in members if not m.is_current]
    by_organisation = [
        {"organisation": org, "members": list(group)}
        for org, group in groupby(current, key=lambda m: m.organisation)
    ]
    represented = {m.organisation.sector for m in current}
    by_sector = [
        {
            "value": value,
            "label": label,
            "organisations": [g for g in by_organisation if g["organisation"].sector == value],
        }
        for value, label in Sector.choices
    ]
    return {
        "by_organisation": by_organisation,
        "by_sector": [s for s in by_sector if s["organisations"]],
        "sectors_represented": [s for s in by_sector if s["value"] in represented],
        "sectors_missing": [s for s in by_sector if s["value"] not in represented],
        "deputies": [m for m in current if m.role == Role.DEPUTY],
        "decision_makers": [m for m in current if m.decision_maker],
        "ended": ended,
        "current_count": len(current),
        "sides": list(partnership.sides.all()),
    }
