"""iCalendar feeds of meetings: a person's own feed, a partnership's feed, one meeting.

Calendar programs cannot sign in, so the feeds live at secret URLs. Each secret belongs
to one person and a feed shows only the partnerships that person belongs to today, so
an address kept after leaving a partnership stops showing its meetings. Every event keeps
its UID for ever and carries the meeting's SEQUENCE, so a change or a cancellation
updates the event in people's calendars rather than adding a second one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from icalendar import Calendar, Event

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.meetings.models import CalendarToken, Meeting, MeetingStatus, new_token

PRODID = "-//partnerwell//meetings//EN"

# Feeds reach back a year so recent meetings stay in calendars; older ones drop out.
FEED_HISTORY = dt.timedelta(days=365)


def event_uid(meeting: Meeting) -> str:
    return f"{meeting.uid}@partnerwell"


def _description(meeting: Meeting) -> str:
    lines = []
    if meeting.video_link:
        lines.append(f"Join online: {meeting.video_link}")
    if meeting.is_cancelled:
        lines.append(f"Cancelled: {meeting.cancel_reason}")
    else:
        lines.append(f"Stage: {MeetingStatus(meeting.status).label}")
    lines.append(f"Agenda, papers and minutes: {settings.SITE_URL}{meeting.get_absolute_url()}")
    return "\n".join(lines)


def meeting_event(meeting: Meeting) -> Event:
    """One VEVENT; needs meeting.partnership loaded (select_related) to stay one query."""
    event = Event()
    event.add("uid", event_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", meeting.updated_at)
    event.add("last-modified", meeting.updated_at)
    event.add("created", meeting.created_at)
    # Times in the meeting's own zone (TZID), so a clock change moves nothing.
    event.add("dtstart", meeting.local_start)
    event.add("dtend", meeting.local_end)
    event.add("summary", f"{meeting.partnership.name}: {meeting.title}")
    location = meeting.place or meeting.video_link
    if location:
        event.add("location", location)
    event.add("url", f"{settings.SITE_URL}{meeting.get_absolute_url()}")
    event.add("description", _description(meeting))
    event.add("status", "CANCELLED" if meeting.is_cancelled else "CONFIRMED")
    return event


def build_calendar(name: str, meetings: Iterable[Meeting]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    starts = []
    for meeting in meetings:
        calendar.add_component(meeting_event(meeting))
        starts.append(meeting.starts_at.date())
    if starts:
        # A VTIMEZONE for every TZID used, which Outlook needs to place the times; its
        # rules cover only the feed's span, which keeps the file small.
        calendar.add_missing_timezones(
            first_date=min(starts) - dt.timedelta(days=400),
            last_date=max(starts) + dt.timedelta(days=400),
        )
    return calendar.to_ical()


def _feed_meetings(meetings: QuerySet[Meeting]) -> QuerySet[Meeting]:
    since = timezone.now() - FEED_HISTORY
    return meetings.filter(ends_at__gte=since).select_related("partnership").order_by("starts_at")


def personal_feed_meetings(person: User) -> QuerySet[Meeting]:
    """Meetings of every partnership the person belongs to today (ended memberships drop out)."""
    mine = Membership.objects.current().filter(person=person).values("partnership_id")
    return _feed_meetings(Meeting.objects.filter(partnership_id__in=mine))


def partnership_feed_meetings(partnership: Partnership, person: User) -> QuerySet[Meeting]:
    """The partnership's meetings while the feed's owner is a current member; else none."""
    mine = (
        Membership.objects.current()
        .filter(person=person, partnership=partnership)
        .values("partnership_id")
    )
    return _feed_meetings(Meeting.objects.filter(partnership_id__in=mine))


def personal_token(person: User) -> CalendarToken:
    found, _ = CalendarToken.objects.get_or_create(person=person, partnership=None)
    return found


def partnership_token(person: User, partnership: Partnership) -> CalendarToken:
    found, _ = CalendarToken.objects.get_or_create(person=person, partnership=partnership)
    return found


@transaction.atomic
def calendar_token_reset(*, person: User, partnership: Partnership | None = None) -> CalendarToken:
    """A new secret for one of the person's feeds; the old URL stops working at once."""
    token, _ = CalendarToken.objects.get_or_create(person=person, partnership=partnership)
    token.token = new_token()
    token.save(update_fields=["token"])
    return token
