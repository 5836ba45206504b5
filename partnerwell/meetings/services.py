"""Meetings themselves: creating, changing, cancelling and moving along the lifecycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings.models import (
    LIFECYCLE,
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingSeries,
    MeetingSettings,
    MeetingStatus,
    Standing,
)

# Changes to these fields change the calendar event, so its SEQUENCE rises.
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "time_zone", "place", "video_link")

# Standing items every new meeting starts with, in order, with their usual length.
STANDING_ITEMS: list[tuple[str, int]] = [
    (Standing.APOLOGIES, 5),
    (Standing.MINUTES, 5),
    (Standing.ACTIONS, 15),
    (Standing.RISKS, 10),
    (Standing.AOB, 5),
]

# Steps a manager moves a meeting to by hand; the others follow from what happens
# (agenda agreed from the chairs' approvals, papers published by publishing the pack,
# minutes drafted when they are circulated, approved at the next meeting).
MANUAL_STEPS = {
    MeetingStatus.AGENDA_OPEN: MeetingStatus.PLANNED,
    MeetingStatus.HELD: None,
}


def settings_for(partnership: Partnership) -> MeetingSettings:
    """The partnership's meeting rules: the defaults, unsaved, until someone saves some,
    so reading a page never writes to the database."""
    found = MeetingSettings.objects.filter(partnership=partnership).first()
    return found or MeetingSettings(partnership=partnership)


def saved_settings_for(partnership: Partnership) -> MeetingSettings:
    """The rules as a saved row, for what must last (the calendar feed's secret)."""
    found, _ = MeetingSettings.objects.get_or_create(partnership=partnership)
    return found


def upcoming(partnership: Partnership) -> QuerySet[Meeting]:
    return Meeting.objects.filter(
        partnership=partnership, ends_at__gte=timezone.now(), cancelled_at__isnull=True
    ).order_by("starts_at", "pk")


def previous_meeting(meeting: Meeting) -> Meeting | None:
    return (
        Meeting.objects.filter(
            partnership_id=meeting.partnership_id,
            starts_at__lt=meeting.starts_at,
            cancelled_at__isnull=True,
        )
        .order_by("-starts_at", "-pk")
        .first()
    )


def _end_of_day_before(meeting: Meeting, days: int) -> dt.datetime:
    """The last second of the day `days` before the meeting's day, in its own time zone."""
    day = meeting.local_start.date() - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=meeting.tz)


def submission_deadline(meeting: Meeting, meeting_settings: MeetingSettings) -> dt.datetime:
    """Items submitted after this moment are late."""
    return _end_of_day_before(meeting, meeting_settings.submission_deadline_days)


def papers_due(meeting: Meeting, meeting_settings: MeetingSettings) -> dt.datetime:
    """Papers published by this moment are on time."""
    return _end_of_day_before(meeting, meeting_settings.papers_days)


def _check_times(starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The meeting must end after it starts."})
    if ends_at - starts_at > dt.timedelta(hours=24):
        raise ValidationError({"ends_at": "A meeting can last at most 24 hours."})


def _series_named(partnership: Partnership, name: str) -> MeetingSeries:
    series, _ = MeetingSeries.objects.get_or_create(partnership=partnership, name=name.strip())
    return series


@transaction.atomic
def meeting_create(
    *, partnership: Partnership, by: User, new_series: str = "", **fields: Any
) -> Meeting:
    """A new planned meeting with its standing items; `new_series` names a series to put
    it in (made if new, and only if the meeting is saved)."""
    _check_times(fields["starts_at"], fields["ends_at"])
    if new_series.strip():
        fields["series"] = _series_named(partnership, new_series)
    meeting = Meeting(partnership=partnership, created_by=by, **fields)
    meeting.full_clean()
    meeting.save()
    AgendaItem.objects.bulk_create(
        AgendaItem(
            partnership=partnership,
            meeting=meeting,
            title=Standing(standing).label,
            standing=standing,
            minutes_needed=minutes,
            nature="operational",
            ask="information",
            status=ItemStatus.ACCEPTED,
            position=(n + 1) * 10 if standing != Standing.AOB else 10_000,
            submitted_by=by,
        )
        for n, (standing, minutes) in enumerate(STANDING_ITEMS)
    )
    return meeting


@transaction.atomic
def meeting_update(*, meeting: Meeting, new_series: str = "", **fields: Any) -> Meeting:
    """Change a meeting; a change people's calendars show raises the event's SEQUENCE."""
    locked = Meeting.objects.select_for_update().get(pk=meeting.pk)
    if new_series.strip():
        fields["series"] = _series_named(locked.partnership, new_series)
    if locked.is_cancelled:
        raise ValidationError("This meeting is cancelled, so it cannot be changed.")
    starts_at = fields.get("starts_at", locked.starts_at)
    ends_at = fields.get("ends_at", locked.ends_at)
    _check_times(starts_at, ends_at)
    # Shortening a meeting must not leave its accepted agenda running past the end.
    planned = AgendaItem.objects.filter(meeting=locked, status=ItemStatus.ACCEPTED).aggregate(
        total=Sum("minutes_needed", default=0)
    )["total"]
    length = int((ends_at - starts_at).total_seconds() // 60)
    if planned > length:
        raise ValidationError(
            {
                "ends_at": f"The agenda already takes {planned} minutes, {planned - length} "
                f"more than a meeting of {length} minutes. Make the meeting longer, or "
                "shorten or defer agenda items first."
            }
        )
    changed_calendar = any(
        name in fields and getattr(locked, name) != fields[name] for name in CALENDAR_FIELDS
    )
    for name, value in fields.items():
        setattr(locked, name, value)
    if changed_calendar:
        locked.sequence = F("sequence") + 1
    locked.full_clean(exclude=["sequence"])
    locked.save()
    locked.refresh_from_db()
    return locked


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, reason: str) -> Meeting:
    if meeting.is_cancelled:
        raise ValidationError("This meeting is already cancelled.")
    if meeting.is_past:
        raise ValidationError("A meeting that has already happened cannot be cancelled.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the meeting is cancelled."})
    Meeting.objects.filter(pk=meeting.pk).update(
        cancelled_at=timezone.now(),
        cancel_reason=reason.strip(),
        sequence=F("sequence") + 1,
        updated_at=timezone.now(),
    )
    meeting.refresh_from_db()
    return meeting


def meeting_advance(*, meeting: Meeting, to: str) -> Meeting:
    """Move a meeting forward to a later step of the lifecycle (never back)."""
    if meeting.is_cancelled:
        raise ValidationError("This meeting is cancelled.")
    if LIFECYCLE.index(to) <= LIFECYCLE.index(meeting.status):
        raise ValidationError(
            f"This meeting is already at “{MeetingStatus(meeting.status).label}”."
        )
    if to == MeetingStatus.HELD and meeting.starts_at > timezone.now():
        raise ValidationError("A meeting can be marked as held only once it has started.")
    Meeting.objects.filter(pk=meeting.pk).update(status=to, updated_at=timezone.now())
    meeting.refresh_from_db()
    return meeting
