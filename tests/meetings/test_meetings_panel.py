"""The meetings panel on the partnership page: the next meeting and late papers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import papers, services
from partnerwell.meetings.models import Meeting, MeetingStatus
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db


def publish_at(meeting: Meeting, at: dt.datetime) -> None:
    Meeting.objects.filter(pk=meeting.pk).update(papers_published_at=at)


def due_of(meeting: Meeting) -> dt.datetime:
    return services.papers_due(meeting, services.settings_for(meeting.partnership))


def test_it_shows_the_next_meeting_with_its_stage_and_links(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    make_meeting(partnership_a, alice, days=60, title="Later forum")
    soon = make_meeting(partnership_a, alice, days=10, title="Spring forum")
    Meeting.objects.filter(pk=soon.pk).update(
        status=MeetingStatus.AGENDA_AGREED, agenda_agreed_at=timezone.now()
    )
    page = alice_client.get(reverse("core-view-partnership", args=[partnership_a.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Next meeting" in html and "Spring forum" in html and "Later forum" not in html
    assert reverse("meetings-view-meeting", args=[soon.pk]) in html
    assert "Agenda agreed" in html and ">Agreed<" in html
    assert reverse("meetings-list-meetings", args=[partnership_a.pk]) in html
    assert reverse("meetings-add-plan-item", args=[partnership_a.pk]) in html


def test_it_warns_about_meetings_whose_papers_were_late(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    late = make_meeting(partnership_a, alice, days=-40, status="held", title="Late forum")
    publish_at(late, due_of(late) + dt.timedelta(seconds=1))
    never = make_meeting(partnership_a, alice, days=-80, status="held", title="Unpublished forum")
    fine = make_meeting(partnership_a, alice, days=-120, status="held", title="Punctual forum")
    publish_at(fine, due_of(fine))
    old = make_meeting(partnership_a, alice, days=-400, status="held", title="Ancient forum")
    assert old.papers_published_at is None and never.papers_published_at is None

    html = alice_client.get(reverse("core-view-partnership", args=[partnership_a.pk]))
    text = html.content.decode()
    assert "Papers were not circulated on time" in text
    assert "for 2 meetings in the last 12 months" in text
    assert "Late forum" in text and "Unpublished forum" in text
    assert "Punctual forum" not in text and "Ancient forum" not in text


def test_it_gives_no_warning_when_every_paper_was_on_time(
    alice_client: Client, partnership_a: Partnership, alice: User
) -> None:
    fine = make_meeting(partnership_a, alice, days=-30, status="held")
    publish_at(fine, due_of(fine) - dt.timedelta(days=1))
    # Not yet due: no warning for a meeting whose papers can still go out on time.
    make_meeting(partnership_a, alice, days=30)
    html = alice_client.get(reverse("core-view-partnership", args=[partnership_a.pk]))
    assert "not circulated on time" not in html.content.decode()


def _panel_queries(partnership: Partnership, user: User) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        context = papers.meetings_panel(partnership, user)
        html = render_to_string("meetings/panels/meetings.html", {"panel": context})
    return len(queries), html


def test_it_costs_the_same_queries_for_2_or_20_meetings(
    partnership_a: Partnership, alice: User
) -> None:
    services.saved_settings_for(partnership_a)
    for n in range(2):
        make_meeting(partnership_a, alice, days=-10 - 15 * n, status="held")
    few, few_html = _panel_queries(partnership_a, alice)
    for n in range(2, 20):
        make_meeting(partnership_a, alice, days=-10 - 15 * n, status="held")
    many, many_html = _panel_queries(partnership_a, alice)
    assert "for 2 meetings" in few_html and "for 20 meetings" in many_html
    assert few == many <= 3


def test_it_shows_nothing_of_other_partnerships(
    carol_client: Client, partnership_b: Partnership, meeting: Meeting
) -> None:
    html = carol_client.get(reverse("core-view-partnership", args=[partnership_b.pk]))
    text = html.content.decode()
    assert "No meeting is planned." in text and meeting.title not in text
