"""Risks, the issues log and wins: services, the heat map, exports and the evidence indicator.

Every function that changes data is atomic, typed and keyword-only. Counts
come from SQL aggregates, so pages built from them cost a fixed number of
queries however many risks a partnership keeps.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Q, QuerySet
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from openpyxl import Workbook

from partnerwell.core.access import AnyUser, can_manage
from partnerwell.core.exports import safe_cell
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery.access import get_risk
from partnerwell.delivery.models import (
    Issue,
    IssueStatus,
    Outcome,
    Risk,
    RiskStatus,
    Win,
)

# Words for the points of the two 1–5 scales, shown on forms, the heat map and exports.
LIKELIHOOD_WORDS = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
IMPACT_WORDS = {1: "Negligible", 2: "Minor", 3: "Moderate", 4: "Major", 5: "Severe"}


@dataclass(frozen=True)
class RatingBand:
    key: str
    label: str
    lowest: int
    fill: str
    ink: str
    tag: str


# Rating bands from the lowest rating in each; fills and inks keep text at 4.5:1 or better.
RATING_BANDS = (
    RatingBand("very_high", "Very high", 15, "#d4351c", "#ffffff", "govuk-tag--red"),
    RatingBand("high", "High", 10, "#f47738", "#0b0c0c", "govuk-tag--orange"),
    RatingBand("medium", "Medium", 5, "#ffdd00", "#0b0c0c", "govuk-tag--yellow"),
    RatingBand("low", "Low", 1, "#00703c", "#ffffff", "govuk-tag--green"),
)


def rating_band(rating: int) -> RatingBand:
    """The band a rating (likelihood × impact, 1–25) falls in."""
    for band in RATING_BANDS:
        if rating >= band.lowest:
            return band
    return RATING_BANDS[-1]


# Querysets -------------------------------------------------------------------------


def with_ratings(risks: QuerySet[Risk]) -> QuerySet[Risk]:
    """Risks with their current and target ratings worked out by the database."""
    return risks.annotate(
        rating_value=ExpressionWrapper(F("likelihood") * F("impact"), output_field=IntegerField()),
        target_value=ExpressionWrapper(
            F("target_likelihood") * F("target_impact"), output_field=IntegerField()
        ),
    )


def overdue_q(on: dt.date) -> Q:
    """Open risks whose review date has passed; a review due today is not yet overdue."""
    return Q(status=RiskStatus.OPEN, review_on__lt=on)


ABOVE_TARGET = Q(status=RiskStatus.OPEN, rating_value__gt=F("target_value"))


def register_risks(partnership: Partnership) -> QuerySet[Risk]:
    return with_ratings(
        Risk.objects.filter(partnership=partnership).select_related("owner__person", "organisation")
    ).order_by("status", "-rating_value", "review_on", "title")


def register_rows(risks: QuerySet[Risk], on: dt.date) -> list[dict[str, Any]]:
    """Each risk with its bands and flags, for the register's table."""
    return [
        {
            "risk": risk,
            "band": rating_band(risk.rating),
            "target_band": rating_band(risk.target_rating),
            "overdue": risk.status == RiskStatus.OPEN and risk.review_on < on,
            "above_target": risk.status == RiskStatus.OPEN and risk.rating > risk.target_rating,
        }
        for risk in risks
    ]


def register_counts(partnership: Partnership, on: dt.date) -> dict[str, int]:
    """How many risks are open, overdue for review, above target and marked for escalation."""
    return with_ratings(Risk.objects.filter(partnership=partnership)).aggregate(
        open=Count("pk", filter=Q(status=RiskStatus.OPEN)),
        closed=Count("pk", filter=Q(status=RiskStatus.CLOSED)),
        overdue=Count("pk", filter=overdue_q(on)),
        above_target=Count("pk", filter=ABOVE_TARGET),
        escalated=Count("pk", filter=Q(status=RiskStatus.OPEN, escalate=True)),
    )


def owner_choices(partnership: Partnership) -> QuerySet[Membership]:
    """Who may own a risk: the partnership's current members."""
    return (
        Membership.objects.current()
        .filter(partnership=partnership)
        .select_related("person", "organisation")
        .order_by("person__name")
    )


def organisation_choices(partnership: Partnership) -> QuerySet[Organisation]:
    """Organisations with a current member on the partnership."""
    sitting = Membership.objects.current().filter(partnership=partnership)
    return Organisation.objects.filter(pk__in=sitting.values("organisation_id")).order_by("name")


def get_risk_to_review(user: AnyUser, pk: int) -> Risk:
    """A risk its owner or a manager may review or escalate; others who can see it get 403."""
    risk = get_risk(user, pk)
    owner = risk.owner
    is_owner = owner is not None and owner.person_id == user.pk and owner.is_current
    if not is_owner and not can_manage(user, risk.partnership):
        raise PermissionDenied("Only the risk's owner or a manager can review or escalate it.")
    return risk


def not_future(day: dt.date | None, field: str, what: str) -> None:
    """Refuse a date after today for something that has already happened."""
    if day is not None and day > timezone.localdate():
        raise ValidationError(
            {field: f"The {what} is in the future; enter today or an earlier day."}
        )


def member_of(partnership: Partnership, user: AnyUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.current().filter(partnership=partnership, person_id=user.pk).first()


# Risks -----------------------------------------------------------------------------


@transaction.atomic
def risk_save(*, risk: Risk) -> Risk:
    """Check a new or changed risk against its partnership's members, then store it."""
    partnership = risk.partnership
    errors: dict[str, str] = {}
    if risk.owner_id and not owner_choices(partnership).filter(pk=risk.owner_id).exists():
        errors["owner"] = "Choose a current member of this partnership as the risk's owner."
    organisations = organisation_choices(partnership)
    if risk.organisation_id and not organisations.filter(pk=risk.organisation_id).exists():
        errors["organisation"] = "Choose an organisation that sits on this partnership."
    if errors:
        raise ValidationError(errors)
    if risk.owner is not None and risk.organisation_id is None:
        # Unless told otherwise, the owner's organisation owns the risk.
        risk.organisation_id = risk.owner.organisation_id
    if risk.status == RiskStatus.CLOSED:
        # A closed risk has nothing to bring to a meeting.
        risk.escalate = False
    risk.full_clean()
    risk.save()
    return risk


@transaction.atomic
def risk_review(
    *,
    risk: Risk,
    reviewed_on: dt.date,
    next_review_on: dt.date,
    likelihood: int | None = None,
    impact: int | None = None,
    controls: str | None = None,
) -> Risk:
    """Record that a risk was looked at again, with its next review and any new scores."""
    not_future(reviewed_on, "reviewed_on", "date of this review")
    if next_review_on <= reviewed_on:
        raise ValidationError(
            {"next_review_on": "The next review must come after this one; choose a later date."}
        )
    locked = Risk.objects.select_for_update().get(pk=risk.pk)
    locked.last_reviewed_on = reviewed_on
    locked.review_on = next_review_on
    if likelihood is not None:
        locked.likelihood = likelihood
    if impact is not None:
        locked.impact = impact
    if controls is not None:
        locked.controls = controls
    locked.full_clean()
    locked.save(update_fields=["last_reviewed_on", "review_on", "likelihood", "impact", "controls"])
    return locked


@transaction.atomic
def risk_set_escalation(*, risk: Risk, escalate: bool) -> Risk:
    """Mark a risk to be brought to the next meeting, or take the mark off."""
    if escalate and risk.status != RiskStatus.OPEN:
        raise ValidationError("This risk is closed. Reopen it before bringing it to a meeting.")
    Risk.objects.filter(pk=risk.pk).update(escalate=escalate)
    risk.escalate = escalate
    return risk


# Issues ----------------------------------------------------------------------------


@transaction.atomic
def issue_raise(
    *,
    partnership: Partnership,
    by: User,
    title: str,
    detail: str = "",
    raised_on: dt.date | None = None,
) -> Issue:
    not_future(raised_on, "raised_on", "date raised")
    issue = Issue(
        partnership=partnership,
        title=title,
        detail=detail,
        raised_by=member_of(partnership, by),
        raised_on=raised_on or timezone.localdate(),
    )
    issue.full_clean()
    issue.save()
    return issue


@transaction.atomic
def issue_resolve(*, issue: Issue, resolution: str, resolved_on: dt.date) -> Issue:
    """Close an issue with a note of how it was resolved; the note is required."""
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError({"resolution": "Say how the issue was resolved."})
    not_future(resolved_on, "resolved_on", "date resolved")
    if resolved_on < issue.raised_on:
        raised = f"{issue.raised_on.day} {issue.raised_on:%B %Y}"
        raise ValidationError(
            {"resolved_on": f"The issue was raised on {raised}; it cannot be resolved before then."}
        )
    issue.status = IssueStatus.RESOLVED
    issue.resolution = resolution
    issue.resolved_on = resolved_on
    issue.full_clean()
    issue.save(update_fields=["status", "resolution", "resolved_on"])
    return issue


@transaction.atomic
def issue_reopen(*, issue: Issue) -> Issue:
    """Put a resolved issue back on the log; its earlier resolution stays for the record."""
    issue.status = IssueStatus.OPEN
    issue.resolved_on = None
    issue.save(update_fields=["status", "resolved_on"])
    return issue


@transaction.atomic
def issue_save(*, issue: Issue) -> Issue:
    issue.full_clean()
    issue.save()
    return issue


# Wins ------------------------------------------------------------------------------


@transaction.atomic
def win_save(*, win: Win) -> Win:
    """Store a new or changed win; its outcome must be one of the partnership's."""
    not_future(win.won_on, "won_on", "date of the win")
    if (
        win.outcome_id
        and not Outcome.objects.filter(
            pk=win.outcome_id, partnership_id=win.partnership_id
        ).exists()
    ):
        raise ValidationError({"outcome": "Choose one of this partnership's outcomes."})
    # Wins recorded before accounts existed, or by someone since removed, have no recorder.
    win.full_clean(exclude=["recorded_by"])
    win.save()
    return win


def win_record(
    *,
    partnership: Partnership,
    by: User,
    title: str,
    detail: str = "",
    won_on: dt.date | None = None,
    outcome: Outcome | None = None,
) -> Win:
    win = Win(
        partnership=partnership,
        title=title,
        detail=detail,
        won_on=won_on or timezone.localdate(),
        outcome=outcome,
        recorded_by=by,
    )
    return win_save(win=win)


# Heat map --------------------------------------------------------------------------


def heat_map(partnership: Partnership) -> list[dict[str, Any]]:
    """Open risks counted by likelihood and impact: rows from impact 5 down to 1."""
    counts = {
        (row["likelihood"], row["impact"]): row["n"]
        for row in Risk.objects.filter(partnership=partnership, status=RiskStatus.OPEN)
        .values("likelihood", "impact")
        .annotate(n=Count("pk"))
        .order_by()
    }
    rows = []
    for impact in range(5, 0, -1):
        cells = []
        for likelihood in range(1, 6):
            band = rating_band(likelihood * impact)
            cells.append(
                {
                    "likelihood": likelihood,
                    "impact": impact,
                    "rating": likelihood * impact,
                    "band": band,
                    "count": counts.get((likelihood, impact), 0),
                }
            )
        rows.append({"impact": impact, "words": IMPACT_WORDS[impact], "cells": cells})
    return rows


SVG_WIDTH = 640
SVG_LEFT = 130
SVG_TOP = 8
CELL_W = 100
CELL_H = 60
FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
TEXT_COLOUR = "#0b0c0c"


def _risks(n: int) -> str:
    return f"{n} risk" if n == 1 else f"{n} risks"


def heat_map_svg(rows: list[dict[str, Any]], *, chart_id: str = "risk-heat-map") -> SafeString:
    """The heat map as an SVG image: colours are fill attributes (no inline styles, for the CSP).

    Every cell carries its count and its band in words, so colour is never the only cue.
    """
    total = sum(c["count"] for row in rows for c in row["cells"])
    filled = [c for row in rows for c in row["cells"] if c["count"]]
    desc = "; ".join(
        f"likelihood {c['likelihood']}, impact {c['impact']} "
        f"(rating {c['rating']}, {c['band'].label.lower()}): {_risks(c['count'])}"
        for c in filled
    )
    parts: list[SafeString] = []
    for r, row in enumerate(rows):
        y = SVG_TOP + r * CELL_H
        parts.append(
            format_html(
                '<text class="pw-heat-axis" x="{}" y="{}" text-anchor="end">{} {}</text>',
                SVG_LEFT - 8,
                y + CELL_H / 2 + 4,
                row["impact"],
                row["words"],
            )
        )
        for c, cell in enumerate(row["cells"]):
            x = SVG_LEFT + c * CELL_W
            band = cell["band"]
            parts.append(
                format_html(
                    '<g class="pw-heat-cell pw-heat-{}"><title>{}</title>'
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#ffffff" '
                    'stroke-width="2"/>'
                    '<text x="{}" y="{}" text-anchor="middle" font-size="20" font-weight="bold" '
                    'fill="{}">{}</text>'
                    '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="{}">{}</text>'
                    "</g>",
                    band.key,
                    f"Likelihood {cell['likelihood']}, impact {cell['impact']}: "
                    f"{_risks(cell['count'])}, {band.label.lower()}",
                    x,
                    y,
                    CELL_W,
                    CELL_H,
                    band.fill,
                    x + CELL_W / 2,
                    y + 28,
                    band.ink,
                    cell["count"],
                    x + CELL_W / 2,
                    y + 46,
                    band.ink,
                    band.label,
                )
            )
    bottom = SVG_TOP + 5 * CELL_H
    for likelihood, words in LIKELIHOOD_WORDS.items():
        centre = SVG_LEFT + (likelihood - 0.5) * CELL_W
        parts.append(
            format_html(
                '<text class="pw-heat-axis" x="{}" y="{}" text-anchor="middle">{} {}</text>',
                centre,
                bottom + 18,
                likelihood,
                words,
            )
        )
    parts.append(
        format_html(
            '<text class="pw-heat-axis-title" x="{}" y="{}" text-anchor="middle" '
            'font-weight="bold">Likelihood</text>'
            '<text class="pw-heat-axis-title" x="12" y="{}" text-anchor="middle" '
            'font-weight="bold" transform="rotate(-90 12 {})">Impact</text>',
            SVG_LEFT + 2.5 * CELL_W,
            bottom + 40,
            SVG_TOP + 2.5 * CELL_H,
            SVG_TOP + 2.5 * CELL_H,
        )
    )
    height = bottom + 52
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="pw-chart pw-heat-map" id="{}" '
        'role="img" aria-labelledby="{}-title {}-desc" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet" font-family="{}" font-size="12" fill="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        chart_id,
        chart_id,
        chart_id,
        SVG_WIDTH,
        height,
        FONT_FAMILY,
        TEXT_COLOUR,
        chart_id,
        f"Heat map of {_risks(total)} by likelihood and impact",
        chart_id,
        desc or "There are no open risks.",
        format_html_join("", "{}", ((p,) for p in parts)),
    )


# Exports ---------------------------------------------------------------------------

EXPORT_HEADER = [
    "title",
    "category",
    "description",
    "cause",
    "effect",
    "owner",
    "organisation",
    "likelihood",
    "impact",
    "rating",
    "rating band",
    "controls",
    "target likelihood",
    "target impact",
    "target rating",
    "above target",
    "next review",
    "review overdue",
    "last reviewed",
    "status",
    "escalate to next meeting",
]

Cell = str | int


def export_rows(partnership: Partnership) -> list[list[Cell]]:
    """The register as rows; text that a spreadsheet would run as a formula is escaped."""
    today = timezone.localdate()
    rows: list[list[Cell]] = []
    for risk in register_risks(partnership):
        rows.append(
            [
                safe_cell(risk.title),
                risk.get_category_display(),
                safe_cell(risk.description),
                safe_cell(risk.cause),
                safe_cell(risk.effect),
                safe_cell(risk.owner.person.name) if risk.owner else "",
                safe_cell(risk.organisation.name) if risk.organisation else "",
                risk.likelihood,
                risk.impact,
                risk.rating,
                rating_band(risk.rating).label,
                safe_cell(risk.controls),
                risk.target_likelihood,
                risk.target_impact,
                risk.target_rating,
                "yes"
                if risk.status == RiskStatus.OPEN and risk.rating > risk.target_rating
                else "no",
                risk.review_on.isoformat(),
                "yes" if risk.status == RiskStatus.OPEN and risk.review_on < today else "no",
                risk.last_reviewed_on.isoformat() if risk.last_reviewed_on else "",
                risk.get_status_display(),
                "yes" if risk.escalate else "no",
            ]
        )
    return rows


def risks_csv(partnership: Partnership) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    writer.writerows(export_rows(partnership))
    return buffer.getvalue()


def risks_xlsx(partnership: Partnership) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Risk register")
    sheet.append(EXPORT_HEADER)
    for row in export_rows(partnership):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# Evidence --------------------------------------------------------------------------

RISKS_REVIEWED_RULE = (
    "Of the partnership's open risks, the share whose next review date had not passed on "
    "the day the health check closed (or today, while it is open). A risk due for review "
    "on that very day still counts as reviewed on time. With no open risks there is no evidence."
)


def risks_reviewed(partnership: Partnership, on: dt.date) -> float | None:
    """Share (0–100) of open risks whose review is not overdue on the given day."""
    counts = Risk.objects.filter(partnership=partnership, status=RiskStatus.OPEN).aggregate(
        total=Count("pk"), current=Count("pk", filter=Q(review_on__gte=on))
    )
    if not counts["total"]:
        return None
    return 100.0 * counts["current"] / counts["total"]
