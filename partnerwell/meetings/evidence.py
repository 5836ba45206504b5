"""The meetings' evidence indicators, registered with the health check's results.

Each turns a partnership's meeting records over the twelve months up to a date
into a 0–100 figure (None when there is not enough to go on), with the rule in
plain words that the results page shows. Each costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, Side
from partnerwell.healthcheck.evidence import register as register_indicator
from partnerwell.healthcheck.models import ANONYMITY_FLOOR_MINIMUM
from partnerwell.meetings.attendance import NOT_COUNTED_ROLES, meeting_day
from partnerwell.meetings.models import (
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingReview,
    MeetingStatus,
    Nature,
    Presence,
    Standing,
)
from partnerwell.meetings.review import to_100
from partnerwell.meetings.services import settings_for

# Statuses of a meeting that has taken place.
HELD_STATUSES = (MeetingStatus.HELD, MeetingStatus.MINUTES_DRAFTED, MeetingStatus.MINUTES_APPROVED)
PRESENT = (Presence.PRESENT, Presence.DEPUTY)

DECISION_MAKER_RULE = (
    "Of the members who can take decisions for their organisation, the share present (in "
    "person or through a named deputy) at the meetings held in the twelve months before the "
    "date whose register was taken, as the register recorded it (a deputy counts when they can "
    "decide for the member's organisation). A decision-maker on the register counts as expected "
    "at every such meeting held while they were a member; observers, advisers and deputies are "
    "not on the register and are not expected."
)
STRATEGIC_SHARE_RULE = (
    "Of the agenda time given to accepted items at meetings in the twelve months before the "
    "date, the share given to items marked strategic rather than operational. Standing items, "
    "such as apologies and any other business, are left out."
)
ITEMS_BY_SIDE_RULE = (
    "How evenly the sides raise agenda items: the number of items raised in the twelve months "
    "before the date by the side that raised fewest, as a share of the number raised by the "
    "side that raised most. 100 means every side raised as many; 0 means a side raised none."
)
PAPERS_ON_TIME_RULE = (
    "Of the meetings in the twelve months before the date that were not cancelled, the share "
    "whose papers were first published by the deadline in the meeting rules (the end of the "
    "day that many days before the meeting). A meeting whose papers never went out counts as late."
)
MEETING_REVIEW_RULE = (
    "The average of the three meeting-review questions (added value, all voices heard, time on "
    "what matters) over all answers for meetings in the twelve months before the date, turned "
    "from 1 to 5 into 0 to 100 (1 is 0, 3 is 50, 5 is 100). Reviews still open are left out "
    "until they close. Shown only when at least three people have answered in all."
)


def _window(on: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The twelve months up to and including the day `on`, as moments in the site's zone."""
    zone = timezone.get_current_timezone()
    end = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    start = dt.datetime.combine(on - dt.timedelta(days=365), dt.time.min, tzinfo=zone)
    return start, end


def _meetings(partnership: Partnership, on: dt.date) -> QuerySet[Meeting]:
    start, end = _window(on)
    return Meeting.objects.filter(
        partnership=partnership,
        cancelled_at__isnull=True,
        starts_at__gte=start,
        starts_at__lt=end,
    )


def _share(part: float | int | None, whole: float | int | None) -> float | None:
    if not whole:
        return None
    return round(100 * float(part or 0) / float(whole), 1)


def decision_maker_attendance(partnership: Partnership, on: dt.date) -> float | None:
    """Decision-makers present as a share of those expected, at held meetings with a
    register (two queries).

    Present is what the register recorded for each meeting (a deputy counts only when
    they can decide for the member's organisation); expected is, for each such meeting,
    the decision-makers who count for the register (not observers, advisers or
    deputies) and were members on the meeting's day.
    """
    meetings = list(
        _meetings(partnership, on)
        .filter(status__in=HELD_STATUSES, decision_makers_present__isnull=False)
        .only("pk", "starts_at", "time_zone", "decision_makers_present")
    )
    if not meetings:
        return None
    spans = list(
        Membership.objects.filter(partnership=partnership, decision_maker=True)
        .exclude(role__in=NOT_COUNTED_ROLES)
        .values_list("start_date", "end_date")
    )
    present = expected = 0
    for meeting in meetings:
        day = meeting_day(meeting)
        present += meeting.decision_makers_present or 0
        # The same test as Membership.objects.current(on=day).
        expected += sum(
            1
            for start, end in spans
            if (start is None or start <= day) and (end is None or end > day)
        )
    if not expected:
        return None
    # A deputy who can decide standing in for a member who cannot still counts as
    # present, so the figure is capped at 100.
    return min(100.0, _share(present, expected) or 0.0)


def strategic_agenda_share(partnership: Partnership, on: dt.date) -> float | None:
    """Share of agenda minutes on strategic items, among accepted non-standing items."""
    totals = AgendaItem.objects.filter(
        meeting__in=_meetings(partnership, on),
        status=ItemStatus.ACCEPTED,
        standing=Standing.NONE,
    ).aggregate(
        all=Sum("minutes_needed"),
        strategic=Sum("minutes_needed", filter=Q(nature=Nature.STRATEGIC)),
    )
    return _share(totals["strategic"], totals["all"])


def items_by_side(partnership: Partnership, on: dt.date) -> float | None:
    """100 × fewest items raised by a side ÷ most raised by a side, over the twelve months."""
    start, end = _window(on)
    sides = list(Side.objects.filter(partnership=partnership).values_list("pk", flat=True))
    if not sides:
        return None
    counts = dict(
        AgendaItem.objects.filter(
            partnership=partnership,
            submitter_side__in=sides,
            standing=Standing.NONE,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .order_by()
        .values("submitter_side")
        .annotate(n=Count("id"))
        .values_list("submitter_side", "n")
    )
    per_side = [counts.get(pk, 0) for pk in sides]
    if not any(per_side):
        return None
    return _share(min(per_side), max(per_side))


def papers_on_time(partnership: Partnership, on: dt.date) -> float | None:
    """Share of meetings started in the twelve months whose papers first went out in time,
    by the same rule as each meeting's page (papers.papers_on_time)."""
    from partnerwell.meetings.papers import papers_on_time as meeting_papers_on_time

    meetings = list(_meetings(partnership, on).filter(starts_at__lte=timezone.now()))
    if not meetings:
        return None
    rules = settings_for(partnership)
    on_time = sum(1 for m in meetings if meeting_papers_on_time(m, meeting_settings=rules) is True)
    return _share(on_time, len(meetings))


def meeting_review(partnership: Partnership, on: dt.date) -> float | None:
    """The mean of the three review scores, 1–5 as 0–100; None below the anonymity floor."""
    # Open reviews wait, as on the meeting's own page: reading the figure before and
    # after one more answer would tell what that person gave.
    totals: dict[str, Any] = MeetingReview.objects.filter(
        meeting__in=_meetings(partnership, on).filter(review_open=False)
    ).aggregate(
        n=Count("id"),
        total=Sum(F("added_value") + F("voices_heard") + F("time_well_spent")),
    )
    n = int(totals["n"])
    if n < ANONYMITY_FLOOR_MINIMUM:
        return None
    return to_100(float(totals["total"]) / (3 * n))


def register() -> None:
    """Called once from AppConfig.ready()."""
    register_indicator(
        key="decision_maker_attendance",
        title="Decision-makers at meetings",
        rule=DECISION_MAKER_RULE,
        compute=decision_maker_attendance,
    )
    register_indicator(
        key="strategic_agenda_share",
        title="Agenda time on strategic items",
        rule=STRATEGIC_SHARE_RULE,
        compute=strategic_agenda_share,
    )
    register_indicator(
        key="items_by_side",
        title="Agenda items raised by each side",
        rule=ITEMS_BY_SIDE_RULE,
        compute=items_by_side,
    )
    register_indicator(
        key="papers_on_time",
        title="Meeting papers circulated on time",
        rule=PAPERS_ON_TIME_RULE,
        compute=papers_on_time,
    )
    register_indicator(
        key="meeting_review",
        title="Meeting review scores",
        rule=MEETING_REVIEW_RULE,
        compute=meeting_review,
    )
