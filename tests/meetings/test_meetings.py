"""Planning, changing, cancelling and moving meetings along; the meeting list and rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Partnership
from partnerwell.meetings.models import AgendaItem, Meeting, MeetingSettings, MeetingStatus
from tests.meetings.conftest import make_meeting

pytestmark = pytest.mark.django_db

FORM = {
    "title": "Quarterly forum",
    "kind": "forum",
    "new_series": "",
    "date": "2031-03-04",
    "start_time": "14:00",
    "end_time": "16:00",
    "time_zone": "Europe/London",
    "place": "Town Hall",
    "video_link": "",
}


def test_it_plans_a_meeting_with_standing_items(
    alice_client: Client, partnership_a: Partnership
) -> None:
    url = reverse("meetings-add-meeting", args=[partnership_a.pk])
    response = alice_client.post(
        url, {**FORM, "new_series": "Quarterly forum", "date": "2031-07-08"}
    )
    meeting = Meeting.objects.get(partnership=partnership_a)
    assert response.status_code == 302 and response["Location"] == meeting.get_absolute_url()
    assert meeting.series is not None and meeting.series.name == "Quarterly forum"
    # 14:00 in London in July (summer time) is 13:00 UTC: the form's time is read in the
    # meeting's zone, not taken as UTC.
    assert meeting.starts_at == dt.datetime(2031, 7, 8, 13, 0, tzinfo=dt.UTC)
    assert meeting.ends_at == dt.datetime(2031, 7, 8, 15, 0, tzinfo=dt.UTC)
    assert meeting.status == MeetingStatus.PLANNED
    standing = list(AgendaItem.objects.filter(meeting=meeting).values_list("standing", flat=True))
    assert standing == ["apologies", "minutes", "actions", "risks", "aob"]


def test_it_refuses_a_meeting_that_ends_before_it_starts(
    alice_client: Client, partnership_a: Partnership
) -> None:
    url = reverse("meetings-add-meeting", args=[partnership_a.pk])
    response = alice_client.post(url, {**FORM, "end_time": "13:00"})
    assert response.status_code == 200
    assert "The meeting must end after it starts." in response.content.decode()
    # What was typed stays in the form.
    assert 'value="Quarterly forum"' in response.content.decode()
    assert not Meeting.objects.exists()


def test_it_refuses_an_unknown_time_zone(alice_client: Client, partnership_a: Partnership) -> None:
    url = reverse("meetings-add-meeting", args=[partnership_a.pk])
    response = alice_client.post(url, {**FORM, "time_zone": "Mars/Olympus"})
    assert "is not a time zone name" in response.content.decode()
    assert not Meeting.objects.exists()


def test_it_lets_only_managers_plan(bob_client: Client, partnership_a: Partnership) -> None:
    response = bob_client.post(reverse("meetings-add-meeting", args=[partnership_a.pk]), FORM)
    assert response.status_code == 403
    assert not Meeting.objects.exists()


def test_it_raises_the_sequence_when_the_time_changes(
    alice_client: Client, meeting: Meeting
) -> None:
    # Only the times differ from the fixture (the test below sends the same fields
    # unchanged), so only they can raise the sequence.
    moved_start = meeting.starts_at + dt.timedelta(minutes=90)
    moved_end = meeting.ends_at + dt.timedelta(minutes=90)
    local_start, local_end = moved_start.astimezone(meeting.tz), moved_end.astimezone(meeting.tz)
    data = {
        **FORM,
        "title": meeting.title,
        "place": meeting.place,
        "date": local_start.date().isoformat(),
        "start_time": local_start.strftime("%H:%M"),
        "end_time": local_end.strftime("%H:%M"),
    }
    response = alice_client.post(reverse("meetings-edit-meeting", args=[meeting.pk]), data)
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.sequence == 1
    assert (meeting.starts_at, meeting.ends_at) == (moved_start, moved_end)


def test_it_keeps_the_sequence_when_nothing_visible_changes(
    alice_client: Client, meeting: Meeting
) -> None:
    local_start = meeting.starts_at.astimezone(meeting.tz)
    local_end = meeting.ends_at.astimezone(meeting.tz)
    data = {
        **FORM,
        "title": meeting.title,
        "place": meeting.place,
        "date": local_start.date().isoformat(),
        "start_time": local_start.strftime("%H:%M"),
        "end_time": local_end.strftime("%H:%M"),
    }
    alice_client.post(reverse("meetings-edit-meeting", args=[meeting.pk]), data)
    meeting.refresh_from_db()
    assert meeting.sequence == 0


def test_it_cancels_with_a_reason(alice_client: Client, meeting: Meeting) -> None:
    url = reverse("meetings-cancel-meeting", args=[meeting.pk])
    assert "Say why" in alice_client.post(url, {"reason": " "}).content.decode()
    meeting.refresh_from_db()
    assert not meeting.is_cancelled
    assert alice_client.post(url, {"reason": "Clash with budget setting"}).status_code == 302
    meeting.refresh_from_db()
    assert meeting.is_cancelled and meeting.sequence == 1


def test_it_opens_the_agenda_and_refuses_held_before_start(
    alice_client: Client, partnership_a: Partnership, alice: object
) -> None:
    meeting = make_meeting(partnership_a, alice, status=MeetingStatus.PLANNED)  # type: ignore[arg-type]
    url = reverse("meetings-advance-meeting", args=[meeting.pk])
    assert alice_client.get(url).status_code == 405
    alice_client.post(url, {"to": "agenda_open"})
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_OPEN
    response = alice_client.post(url, {"to": "held"}, follow=True)
    assert "only once it has started" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.AGENDA_OPEN


def test_it_lists_coming_and_past_meetings(
    bob_client: Client, partnership_a: Partnership, alice: object
) -> None:
    make_meeting(partnership_a, alice, days=20, title="Next forum")  # type: ignore[arg-type]
    make_meeting(partnership_a, alice, days=-20, title="Last forum")  # type: ignore[arg-type]
    page = bob_client.get(
        reverse("meetings-list-meetings", args=[partnership_a.pk])
    ).content.decode()
    assert page.index("Next forum") < page.index("Past meetings") < page.index("Last forum")


def test_it_saves_the_quorum_rule(
    alice_client: Client, partnership_a: Partnership, council: object
) -> None:
    url = reverse("meetings-edit-settings", args=[partnership_a.pk])
    data = {
        "submission_deadline_days": "7",
        "papers_days": "5",
        "attendance_window": "6",
        "quorum_min_members": "4",
        "quorum_each_side": "on",
        "quorum_organisations": [str(council.pk)],  # type: ignore[attr-defined]
        "quorum_sectors": ["local_authority"],
    }
    assert alice_client.post(url, data).status_code == 302
    rules = MeetingSettings.objects.get(partnership=partnership_a)
    assert rules.quorum_min_members == 4 and rules.quorum_each_side
    assert list(rules.quorum_organisations.all()) == [council]
    assert rules.quorum_sectors == ["local_authority"]


def test_it_hides_other_partnerships_meetings(alice_client: Client, meeting_b: Meeting) -> None:
    for name in ("meetings-view-meeting", "meetings-edit-meeting", "meetings-cancel-meeting"):
        assert alice_client.get(reverse(name, args=[meeting_b.pk])).status_code == 404
    assert (
        alice_client.post(
            reverse("meetings-advance-meeting", args=[meeting_b.pk]), {"to": "held"}
        ).status_code
        == 404
    )


def test_it_shows_the_meeting_page(bob_client: Client, meeting: Meeting) -> None:
    response = bob_client.get(meeting.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert meeting.title in page and meeting.place in page


def test_it_refuses_a_time_skipped_when_the_clocks_go_forward(
    alice_client: Client, partnership_a: Partnership
) -> None:
    # On 30 March 2031 the clocks in London go from 01:00 straight to 02:00.
    url = reverse("meetings-add-meeting", args=[partnership_a.pk])
    data = {**FORM, "date": "2031-03-30", "start_time": "01:30", "end_time": "03:00"}
    page = alice_client.post(url, data).content.decode()
    assert "01:30 does not exist on 30 March 2031 in Europe/London" in page
    assert not Meeting.objects.exists()


def test_it_refuses_to_shorten_a_meeting_below_its_agenda(
    alice_client: Client, meeting: Meeting
) -> None:
    # The standing items take 40 minutes; a 30-minute meeting cannot hold them.
    local = meeting.starts_at.astimezone(meeting.tz)
    data = {
        **FORM,
        "date": local.date().isoformat(),
        "start_time": "10:00",
        "end_time": "10:30",
    }
    response = alice_client.post(reverse("meetings-edit-meeting", args=[meeting.pk]), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "The agenda already takes 40 minutes, 10 more than a meeting of 30 minutes" in page
    # The typed times stay in the form; the meeting is unchanged.
    assert 'value="10:30"' in page
    before = meeting.ends_at
    meeting.refresh_from_db()
    assert meeting.ends_at == before and meeting.sequence == 0


def test_it_refuses_to_change_a_cancelled_meeting(alice_client: Client, meeting: Meeting) -> None:
    alice_client.post(reverse("meetings-cancel-meeting", args=[meeting.pk]), {"reason": "Clash"})
    meeting.refresh_from_db()
    sequence = meeting.sequence
    response = alice_client.post(
        reverse("meetings-edit-meeting", args=[meeting.pk]), {**FORM}, follow=True
    )
    assert "cancelled, so it cannot be changed" in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.sequence == sequence and meeting.title == "Partnership forum"


def test_it_lays_out_the_form_without_a_series_cleanly(
    alice_client: Client, partnership_a: Partnership, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR"):
        page = alice_client.get(reverse("meetings-add-meeting", args=[partnership_a.pk]))
    assert page.status_code == 200 and 'name="series"' not in page.content.decode()
    assert not [r for r in caplog.records if "Could not resolve form field" in r.getMessage()]


def test_it_shows_a_meetings_times_in_its_own_time_zone(
    bob_client: Client, partnership_a: Partnership, alice: object
) -> None:
    # The server's zone is Europe/London; this meeting is at 10:00 in New York (15:00 in London).
    from partnerwell.meetings import services

    start = dt.datetime(2031, 1, 14, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    meeting = services.meeting_create(
        partnership=partnership_a,
        by=alice,  # type: ignore[arg-type]
        title="Transatlantic call",
        kind="workshop",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        time_zone="America/New_York",
        place="",
        video_link="",
    )
    services.meeting_advance(meeting=meeting, to="agenda_open")
    page = " ".join(bob_client.get(meeting.get_absolute_url()).content.decode().split())
    assert "10:00 to 11:00 (America/New_York)" in page
    # The agenda's first standing item starts when the meeting does, in the same zone.
    assert "10:00–10:05" in page
    assert "15:00" not in page


def test_it_makes_a_new_series_only_with_the_meeting(
    partnership_a: Partnership, alice: object
) -> None:
    from django.core.exceptions import ValidationError

    from partnerwell.meetings import services
    from partnerwell.meetings.models import MeetingSeries

    start = dt.datetime(2031, 3, 4, 14, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        services.meeting_create(
            partnership=partnership_a,
            by=alice,  # type: ignore[arg-type]
            new_series="Quarterly forum",
            title="Refused",
            kind="forum",
            starts_at=start,
            ends_at=start - dt.timedelta(hours=1),
        )
    assert not MeetingSeries.objects.exists()
