"""Calendar feeds, parsed back with icalendar: stable UIDs, rising SEQUENCE, cancellations."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from icalendar import Calendar, Event

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.meetings import calendar as cal
from partnerwell.meetings import services
from partnerwell.meetings.models import CalendarToken, Meeting
from tests.meetings.conftest import make_meeting

LONDON = zoneinfo.ZoneInfo("Europe/London")


def _personal_url(person: User) -> str:
    return f"/calendar/me/{cal.personal_token(person).token}.ics"


def _partnership_url(partnership: Partnership, person: User | None = None) -> str:
    """A member's feed of one partnership (the first member's when no person is given)."""
    if person is None:
        person = Membership.objects.filter(partnership=partnership).order_by("pk")[0].person
    return f"/calendar/partnership/{cal.partnership_token(person, partnership).token}.ics"


def _parse(client: Client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, Event]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def _summer_meeting(partnership: Partnership, by: User) -> Meeting:
    """10:00 to 12:00 London time on a July day next year (British Summer Time)."""
    year = timezone.now().year + 1
    start = dt.datetime(year, 7, 14, 10, 0, tzinfo=LONDON)
    return services.meeting_create(
        partnership=partnership,
        by=by,
        title="Summer board",
        kind="board",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=2),
        time_zone="Europe/London",
        place="Civic Centre",
        video_link="https://video.example.org/board",
    )


def test_it_serves_the_personal_feed_without_signing_in(
    client: Client, alice: User, meeting: Meeting
) -> None:
    calendar = _parse(client, _personal_url(alice))
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == cal.PRODID
    assert calendar["X-WR-CALNAME"] == "Partnership meetings"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == f"{meeting.uid}@partnerwell"
    assert event["SUMMARY"] == "Alpha Forum: Partnership forum"
    assert event["LOCATION"] == "Council House, Room 2"
    assert event["URL"] == f"{settings.SITE_URL}/meetings/{meeting.pk}/"
    assert event["STATUS"] == "CONFIRMED"
    assert event["SEQUENCE"] == 0
    assert "Stage: Agenda open" in event["DESCRIPTION"]


def test_it_puts_times_in_the_meetings_zone(
    client: Client, alice: User, partnership_a: Partnership
) -> None:
    meeting = _summer_meeting(partnership_a, alice)
    calendar = _parse(client, _partnership_url(partnership_a))
    event = _events(calendar)[f"{meeting.uid}@partnerwell"]
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND")
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert (start.hour, start.minute) == (10, 0)
    # 10:00 in London in July is 09:00 UTC.
    assert start.astimezone(dt.UTC).hour == 9
    assert end - start == dt.timedelta(hours=2)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert "Join online: https://video.example.org/board" in event["DESCRIPTION"]


def test_it_keeps_the_uid_and_raises_the_sequence_when_the_time_changes(
    client: Client, alice: User, meeting: Meeting
) -> None:
    url = _personal_url(alice)
    before = _events(_parse(client, url))
    services.meeting_update(
        meeting=meeting,
        starts_at=meeting.starts_at + dt.timedelta(hours=1),
        ends_at=meeting.ends_at + dt.timedelta(hours=1),
    )
    after = _events(_parse(client, url))
    assert list(after) == list(before) == [f"{meeting.uid}@partnerwell"]
    uid = f"{meeting.uid}@partnerwell"
    assert after[uid]["SEQUENCE"] > before[uid]["SEQUENCE"]
    assert after[uid].decoded("DTSTART") - before[uid].decoded("DTSTART") == dt.timedelta(hours=1)


def test_it_shows_a_cancelled_meeting_as_cancelled_with_a_higher_sequence(
    client: Client, alice: User, meeting: Meeting
) -> None:
    url = _partnership_url(meeting.partnership)
    uid = f"{meeting.uid}@partnerwell"
    before = _events(_parse(client, url))[uid]
    services.meeting_cancel(meeting=meeting, reason="The venue flooded.")
    after = _events(_parse(client, url))[uid]
    assert before["STATUS"] == "CONFIRMED"
    assert after["STATUS"] == "CANCELLED"
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert "Cancelled: The venue flooded." in after["DESCRIPTION"]


def test_it_puts_only_the_persons_partnerships_in_their_feed(
    client: Client, alice: User, carol: User, meeting: Meeting, meeting_b: Meeting
) -> None:
    alices = _events(_parse(client, _personal_url(alice)))
    carols = _events(_parse(client, _personal_url(carol)))
    assert list(alices) == [f"{meeting.uid}@partnerwell"]
    assert list(carols) == [f"{meeting_b.uid}@partnerwell"]


def test_it_drops_meetings_when_the_membership_ends(
    client: Client, bob: User, meeting: Meeting
) -> None:
    url = _personal_url(bob)
    assert len(_parse(client, url).walk("VEVENT")) == 1
    Membership.objects.filter(person=bob).update(end_date=timezone.localdate())
    assert _parse(client, url).walk("VEVENT") == []


def test_it_leaves_out_meetings_more_than_a_year_old(
    client: Client, alice: User, partnership_a: Partnership
) -> None:
    recent = make_meeting(partnership_a, alice, days=-300, title="Recent")
    make_meeting(partnership_a, alice, days=-400, title="Old")
    events = _events(_parse(client, _partnership_url(partnership_a)))
    assert list(events) == [f"{recent.uid}@partnerwell"]


def test_the_feed_costs_the_same_queries_however_many_meetings(
    client: Client, alice: User, partnership_a: Partnership, django_assert_max_num_queries: object
) -> None:
    for n in range(6):
        make_meeting(partnership_a, alice, days=n + 1, title=f"Meeting {n}")
    url = _personal_url(alice)
    with django_assert_max_num_queries(2):  # type: ignore[operator]
        response = client.get(url)
    assert len(Calendar.from_ical(response.content).walk("VEVENT")) == 6


def test_it_answers_404_for_an_unknown_token(client: Client, alice: User, meeting: Meeting) -> None:
    assert client.get("/calendar/me/not-a-real-token.ics").status_code == 404
    assert client.get("/calendar/partnership/not-a-real-token.ics").status_code == 404


# The feeds page and new addresses ----------------------------------------------------


def test_it_shows_both_feed_addresses_to_a_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/calendar/")
    assert response.status_code == 200
    content = response.content.decode()
    personal = CalendarToken.objects.get(person=bob, partnership=None).token
    shared = CalendarToken.objects.get(person=bob, partnership=partnership_a).token
    assert f"/calendar/me/{personal}.ics" in content
    assert "webcal://" in content
    assert f"/calendar/partnership/{shared}.ics" in content
    # Both addresses are bob's own, so he may replace either.
    assert "/calendar/partnership/reset/" in content
    assert "/calendar/personal/reset/" in content


def test_each_member_gets_their_own_partnership_address(
    alice_client: Client, bob_client: Client, alice: User, bob: User, partnership_a: Partnership
) -> None:
    alice_client.get(f"/partnerships/{partnership_a.pk}/calendar/")
    bob_client.get(f"/partnerships/{partnership_a.pk}/calendar/")
    alices = CalendarToken.objects.get(person=alice, partnership=partnership_a).token
    bobs = CalendarToken.objects.get(person=bob, partnership=partnership_a).token
    assert alices != bobs


def test_the_feeds_page_is_404_for_another_partnership(
    carol_client: Client, partnership_a: Partnership, alice: User
) -> None:
    assert carol_client.get(f"/partnerships/{partnership_a.pk}/calendar/").status_code == 404


def test_the_feeds_page_asks_visitors_to_sign_in(
    client: Client, partnership_a: Partnership
) -> None:
    response = client.get(f"/partnerships/{partnership_a.pk}/calendar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_makes_a_new_personal_address_and_the_old_one_stops_working(
    bob_client: Client, client: Client, bob: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    old_url = _personal_url(bob)
    old = CalendarToken.objects.get(person=bob, partnership=None).token
    response = bob_client.post(f"/partnerships/{partnership_a.pk}/calendar/personal/reset/")
    assert response.status_code == 302
    token = CalendarToken.objects.get(person=bob, partnership=None)
    token.refresh_from_db()
    assert token.token != old
    assert client.get(old_url).status_code == 404
    assert len(_parse(client, f"/calendar/me/{token.token}.ics").walk("VEVENT")) == 1


def test_the_personal_reset_refuses_get_and_other_partnerships(
    bob_client: Client, carol_client: Client, bob: User, carol: User, partnership_a: Partnership
) -> None:
    url = f"/partnerships/{partnership_a.pk}/calendar/personal/reset/"
    carols = cal.personal_token(carol).token
    assert bob_client.get(url).status_code == 405
    assert carol_client.post(url).status_code == 404
    assert CalendarToken.objects.get(person=carol, partnership=None).token == carols


def test_a_member_makes_a_new_address_for_their_partnership_feed(
    bob_client: Client,
    client: Client,
    bob: User,
    alice: User,
    partnership_a: Partnership,
    meeting: Meeting,
) -> None:
    old_url = _partnership_url(partnership_a, bob)
    alices = cal.partnership_token(alice, partnership_a).token
    url = f"/partnerships/{partnership_a.pk}/calendar/partnership/reset/"
    assert bob_client.get(url).status_code == 405
    assert bob_client.post(url).status_code == 302
    token = CalendarToken.objects.get(person=bob, partnership=partnership_a)
    token.refresh_from_db()
    assert old_url != f"/calendar/partnership/{token.token}.ics"
    assert client.get(old_url).status_code == 404
    assert len(_parse(client, _partnership_url(partnership_a, bob)).walk("VEVENT")) == 1
    # Only bob's address changed: alice's still works.
    assert cal.partnership_token(alice, partnership_a).token == alices


def test_the_partnership_reset_refuses_other_partnerships(
    carol_client: Client, carol: User, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    carols = cal.partnership_token(carol, partnership_b).token
    url = f"/partnerships/{partnership_a.pk}/calendar/partnership/reset/"
    assert carol_client.post(url).status_code == 404
    assert not CalendarToken.objects.filter(person=carol, partnership=partnership_a).exists()
    assert CalendarToken.objects.get(person=carol, partnership=partnership_b).token == carols


# Feeds follow current membership -----------------------------------------------------


def _end_membership(person: User, partnership: Partnership) -> None:
    """The membership ended yesterday: an end date in the past (core's notion of current)."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Membership.objects.filter(person=person, partnership=partnership).update(end_date=yesterday)


def test_an_ex_member_gets_an_empty_partnership_feed(
    client: Client, bob: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    url = _partnership_url(partnership_a, bob)
    assert len(_parse(client, url).walk("VEVENT")) == 1
    _end_membership(bob, partnership_a)
    # 200 with an empty calendar, so calendar programs remove the events they had.
    calendar = _parse(client, url)
    assert calendar.walk("VEVENT") == []
    assert "Council House" not in client.get(url).content.decode()


def test_an_ex_member_gets_an_empty_personal_feed(
    client: Client, bob: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    url = _personal_url(bob)
    assert len(_parse(client, url).walk("VEVENT")) == 1
    _end_membership(bob, partnership_a)
    assert _parse(client, url).walk("VEVENT") == []


def test_a_current_member_keeps_the_meetings_when_another_leaves(
    client: Client, alice: User, bob: User, partnership_a: Partnership, meeting: Meeting
) -> None:
    _end_membership(bob, partnership_a)
    assert len(_parse(client, _partnership_url(partnership_a, alice)).walk("VEVENT")) == 1
    assert len(_parse(client, _personal_url(alice)).walk("VEVENT")) == 1


def test_a_feed_of_one_partnership_never_serves_another(
    client: Client,
    carol: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    meeting: Meeting,
    meeting_b: Meeting,
) -> None:
    # Even an address made for carol on a partnership she is not in serves nothing.
    stray = cal.partnership_token(carol, partnership_a).token
    assert _parse(client, f"/calendar/partnership/{stray}.ics").walk("VEVENT") == []
    events = _events(_parse(client, _partnership_url(partnership_b, carol)))
    assert list(events) == [f"{meeting_b.uid}@partnerwell"]
    # A personal secret is not a partnership feed address, nor the other way round.
    personal = cal.personal_token(carol).token
    assert client.get(f"/calendar/partnership/{personal}.ics").status_code == 404
    own = cal.partnership_token(carol, partnership_b).token
    assert client.get(f"/calendar/me/{own}.ics").status_code == 404


# One meeting's file ------------------------------------------------------------------


def test_it_downloads_one_meeting_as_ics(bob_client: Client, meeting: Meeting) -> None:
    response = bob_client.get(f"/meetings/{meeting.pk}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="meeting-{meeting.pk}.ics"'
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event["UID"] == f"{meeting.uid}@partnerwell"


def test_the_download_is_404_for_another_partnership(
    carol_client: Client, meeting: Meeting
) -> None:
    assert carol_client.get(f"/meetings/{meeting.pk}/calendar.ics").status_code == 404


def test_the_download_asks_visitors_to_sign_in(client: Client, meeting: Meeting) -> None:
    response = client.get(f"/meetings/{meeting.pk}/calendar.ics")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("prefix", ["me", "partnership"])
def test_the_feeds_refuse_post(client: Client, alice: User, prefix: str) -> None:
    token = (
        cal.personal_token(alice).token
        if prefix == "me"
        else cal.partnership_token(alice, Membership.objects.get(person=alice).partnership).token
    )
    assert client.post(f"/calendar/{prefix}/{token}.ics").status_code == 405
