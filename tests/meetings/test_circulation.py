"""Whether papers were circulated on time: the due moment and its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import papers, services
from partnerwell.meetings.models import Meeting, MeetingSettings
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

SECOND = dt.timedelta(seconds=1)


def due_of(meeting: Meeting) -> dt.datetime:
    return services.papers_due(meeting, services.settings_for(meeting.partnership))


def published(meeting: Meeting, at: dt.datetime) -> Meeting:
    Meeting.objects.filter(pk=meeting.pk).update(papers_published_at=at)
    meeting.refresh_from_db()
    return meeting


def test_it_counts_papers_published_exactly_at_the_due_moment_as_on_time(
    meeting: Meeting,
) -> None:
    assert papers.papers_on_time(published(meeting, due_of(meeting))) is True


def test_it_counts_papers_published_one_second_late_as_late(meeting: Meeting) -> None:
    assert papers.papers_on_time(published(meeting, due_of(meeting) + SECOND)) is False


def test_it_uses_the_partnership_s_number_of_days(
    meeting: Meeting, partnership_a: Partnership
) -> None:
    MeetingSettings.objects.update_or_create(partnership=partnership_a, defaults={"papers_days": 2})
    local_start = meeting.starts_at.astimezone(meeting.tz)
    # End of the day two days before, in the meeting's own time zone.
    due = dt.datetime.combine(
        local_start.date() - dt.timedelta(days=2), dt.time(23, 59, 59), tzinfo=meeting.tz
    )
    assert papers.papers_on_time(published(meeting, due)) is True
    assert papers.papers_on_time(published(meeting, due + SECOND)) is False


def test_it_says_nothing_before_papers_are_due(meeting: Meeting) -> None:
    assert meeting.papers_published_at is None
    assert papers.papers_on_time(meeting, now=due_of(meeting)) is None


def test_it_counts_unpublished_papers_as_late_once_due(meeting: Meeting) -> None:
    assert papers.papers_on_time(meeting, now=due_of(meeting) + SECOND) is False


def test_it_says_nothing_for_a_cancelled_meeting(meeting: Meeting) -> None:
    Meeting.objects.filter(pk=meeting.pk).update(cancelled_at=timezone.now())
    meeting.refresh_from_db()
    assert papers.papers_on_time(meeting, now=due_of(meeting) + SECOND) is None


def test_it_shows_late_circulation_on_the_meeting_page(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    past = make_meeting(partnership_a, alice, days=-20, status="held")
    published(past, due_of(past) + dt.timedelta(days=2))
    page = alice_client.get(past.get_absolute_url()).content.decode()
    assert "First published on" in page
    assert "late</strong>" in page
