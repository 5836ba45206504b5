"""The email digest with its meetings sections: one email per person, unsubscribing per section."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail, signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerwell.core import digest
from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Action, DigestFrequency, DigestPreference
from partnerwell.delivery.tasks import send_digests
from partnerwell.meetings.models import Meeting, Minutes, MinutesStatus, PackStatus, PapersPack
from tests.delivery.test_actions import make_action
from tests.meetings.conftest import make_meeting

MONDAY = dt.date(2026, 11, 23)
TUESDAY = MONDAY + dt.timedelta(days=1)
HEADINGS = [
    "YOUR ACTIONS THAT NEED ATTENTION",
    "ACTIONS NEWLY GIVEN TO YOU",
    "NEW MEETING PAPERS",
    "AGENDAS AGREED",
    "DRAFT MINUTES TO APPROVE",
]


def _send(day: dt.date) -> int:
    return send_digests.call(on=day.isoformat())


def _to(person: User) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [person.email]]


def _prefer(person: User, frequency: str = DigestFrequency.DAILY) -> None:
    DigestPreference.objects.update_or_create(person=person, defaults={"frequency": frequency})


def _publish(meeting: Meeting, version: int = 1, note: str = "") -> PapersPack:
    return PapersPack.objects.create(
        meeting=meeting,
        version=version,
        status=PackStatus.READY,
        built_at=timezone.now(),
        pages=12,
        change_note=note,
    )


def _unsubscribe_path(email: mail.EmailMessage, label: str) -> str:
    found = re.search(rf'Stop getting "{label}" in this email: (\S+)', email.body)
    assert found, f"No unsubscribe link for {label}"
    url = found.group(1)
    assert url.startswith(settings.SITE_URL)
    return url[len(settings.SITE_URL) :]


@pytest.fixture
def news(alice: User, bob: User, dave: User, partnership_a: Partnership) -> dict[str, Meeting]:
    """Something in every section for bob; the meetings news for every member of A."""
    coming = make_meeting(partnership_a, alice, days=14, title="Spring forum")
    agreed = make_meeting(partnership_a, alice, days=20, title="Budget board")
    past = make_meeting(partnership_a, alice, days=-10, title="Winter forum", status="held")
    _publish(coming)
    Meeting.objects.filter(pk=agreed.pk).update(agenda_agreed_at=timezone.now())
    Minutes.objects.create(
        meeting=past, status=MinutesStatus.CIRCULATED, circulated_at=timezone.now()
    )
    make_action(bob, partnership_a, title="Overdue report", due=MONDAY - dt.timedelta(days=2))
    Action.objects.update(created_at=timezone.now() - dt.timedelta(days=60))
    make_action(bob, partnership_a, title="Draft the newsletter", created_by=alice)
    return {"coming": coming, "agreed": agreed, "past": past}


def test_it_sends_one_email_with_every_section_that_has_news(
    news: dict[str, Meeting], bob: User, dave: User, carol: User
) -> None:
    _prefer(bob)
    assert _send(TUESDAY) == 1
    [email] = _to(bob)
    assert email.subject == (
        "Your digest: 1 action needing attention, 1 new action for you, "
        "1 new papers pack, 1 agenda agreed and 1 set of draft minutes"
    )
    positions = [email.body.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    for text in (
        "Overdue report",
        "Draft the newsletter",
        "Papers for Spring forum",
        "Agenda agreed for Budget board",
        "Draft minutes of Winter forum",
        f"{settings.SITE_URL}/meetings/{news['coming'].pk}/",
    ):
        assert text in email.body
    assert email.body.count("Stop getting") == 5
    # dave and carol chose nothing, so they wait for Monday's weekly digest.
    assert _to(dave) == [] and _to(carol) == []
    assert DigestPreference.objects.get(person=bob).last_sent_at is not None


def test_it_gives_other_members_only_the_meetings_news(
    news: dict[str, Meeting], dave: User, carol: User, meeting_b: Meeting
) -> None:
    assert _send(MONDAY) >= 1
    [email] = _to(dave)
    assert "NEW MEETING PAPERS" in email.body
    assert "YOUR ACTIONS" not in email.body
    assert "Overdue report" not in email.body
    # carol's partnership has nothing new, and A's news is not hers.
    assert _to(carol) == []
    assert not DigestPreference.objects.filter(person=carol).exists()


def test_it_sends_nothing_to_a_person_with_nothing_new(carol: User, meeting_b: Meeting) -> None:
    _prefer(carol)
    # Built long before the period this digest covers.
    PapersPack.objects.create(
        meeting=meeting_b,
        version=1,
        status=PackStatus.READY,
        built_at=timezone.now() - dt.timedelta(days=3),
    )
    # Built just now, but not ready.
    PapersPack.objects.create(meeting=meeting_b, version=2, status=PackStatus.FAILED)
    assert _send(TUESDAY) == 0
    assert mail.outbox == []
    assert DigestPreference.objects.get(person=carol).last_sent_on is None


def test_it_counts_only_what_is_new_since_the_last_digest(
    news: dict[str, Meeting], bob: User
) -> None:
    _prefer(bob)
    assert _send(TUESDAY) == 1
    assert _send(TUESDAY + dt.timedelta(days=1)) == 1
    second = _to(bob)[1]
    # Only the overdue action is still news; the rest went out on Monday.
    assert "Overdue report" in second.body
    for text in ("NEW MEETING PAPERS", "AGENDAS AGREED", "DRAFT MINUTES", "Draft the newsletter"):
        assert text not in second.body
    _publish(news["coming"], version=2, note="Paper 3 replaced.")
    assert _send(TUESDAY + dt.timedelta(days=2)) == 1
    assert "Updated pack (version 2): Paper 3 replaced." in _to(bob)[2].body


def test_it_leaves_out_partnerships_the_person_has_left(
    news: dict[str, Meeting], dave: User
) -> None:
    _prefer(dave)
    Membership.objects.filter(person=dave).update(end_date=MONDAY)
    assert _send(TUESDAY) == 0
    assert _to(dave) == []


def test_it_sends_weekly_on_mondays_and_daily_every_day(
    news: dict[str, Meeting], bob: User, dave: User
) -> None:
    _prefer(bob, DigestFrequency.DAILY)
    _prefer(dave, DigestFrequency.WEEKLY)
    assert _send(TUESDAY) == 1
    assert len(_to(bob)) == 1 and _to(dave) == []
    # Monday: dave's weekly digest, bob's daily one, and alice's (weekly is the default).
    assert _send(MONDAY + dt.timedelta(days=7)) == 3
    assert len(_to(dave)) == 1 and len(_to(bob)) == 2


def test_the_queries_do_not_grow_with_the_news(
    alice: User, bob: User, partnership_a: Partnership
) -> None:
    _prefer(bob)
    _publish(make_meeting(partnership_a, alice, days=5))
    with CaptureQueriesContext(connection) as few:
        assert _send(TUESDAY) == 1
    for n in range(5):
        meeting = make_meeting(partnership_a, alice, days=6 + n, title=f"Forum {n}")
        _publish(meeting)
        Meeting.objects.filter(pk=meeting.pk).update(agenda_agreed_at=timezone.now())
        Minutes.objects.create(
            meeting=meeting, status=MinutesStatus.CIRCULATED, circulated_at=timezone.now()
        )
    DigestPreference.objects.filter(person=bob).update(last_sent_on=None, last_sent_at=None)
    with CaptureQueriesContext(connection) as many:
        assert _send(TUESDAY + dt.timedelta(days=1)) == 1
    assert "Forum 4" in _to(bob)[-1].body
    assert len(many) == len(few)


# Unsubscribing from one section ------------------------------------------------------


def test_an_unsubscribe_link_asks_first_and_then_leaves_that_section_out(
    news: dict[str, Meeting], bob: User, client: Client
) -> None:
    _prefer(bob)
    _send(MONDAY)
    path = _unsubscribe_path(_to(bob)[0], "New meeting papers")
    response = client.get(path)
    assert response.status_code == 200
    assert b"Unsubscribe from" in response.content
    assert DigestPreference.objects.get(person=bob).unsubscribed == []
    response = client.post(path)
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    preference = DigestPreference.objects.get(person=bob)
    preference.refresh_from_db()
    assert preference.unsubscribed == ["papers"]
    # Everything counts as new again, yet the papers stay out and the rest stays in.
    DigestPreference.objects.filter(person=bob).update(last_sent_at=None, last_sent_on=None)
    assert _send(TUESDAY) == 1
    body = _to(bob)[-1].body
    assert "NEW MEETING PAPERS" not in body and "Papers for Spring forum" not in body
    for heading in [h for h in HEADINGS if h != "NEW MEETING PAPERS"]:
        assert heading in body
    assert client.post(path).status_code == 200
    assert DigestPreference.objects.get(person=bob).unsubscribed == ["papers"]


def test_a_person_unsubscribed_from_everything_they_have_gets_nothing(
    news: dict[str, Meeting], dave: User, client: Client
) -> None:
    _prefer(dave)
    for kind in ("papers", "agendas", "minutes"):
        client.post(f"/digest/unsubscribe/{digest.unsubscribe_token(dave, kind)}/")
    assert _send(TUESDAY) == 0
    assert _to(dave) == []


def test_a_tampered_unsubscribe_link_changes_nothing(
    news: dict[str, Meeting], bob: User, client: Client
) -> None:
    token = digest.unsubscribe_token(bob, "papers")
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    forged = signing.dumps({"p": bob.pk, "k": "papers"}, salt="another salt", compress=True)
    unknown_kind = signing.dumps(
        {"p": bob.pk, "k": "gossip"}, salt="partnerwell.digest.unsubscribe", compress=True
    )
    for bad in (tampered, forged, unknown_kind, "nonsense"):
        for method in (client.get, client.post):
            response = method(f"/digest/unsubscribe/{bad}/")
            assert response.status_code == 400
            assert b"This unsubscribe link does not work" in response.content
    assert not DigestPreference.objects.filter(person=bob).exclude(unsubscribed=[]).exists()


def test_an_unsubscribe_link_for_a_removed_account_changes_nothing(
    bob: User, client: Client
) -> None:
    token = digest.unsubscribe_token(bob, "papers")
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert client.post(f"/digest/unsubscribe/{token}/").status_code == 400
    assert not DigestPreference.objects.exists()


# Turning sections back on in the account settings ------------------------------------


def test_the_settings_page_shows_which_sections_are_on(bob_client: Client, bob: User) -> None:
    DigestPreference.objects.create(person=bob, unsubscribed=["papers"])
    content = " ".join(bob_client.get("/account/action-reminders/").content.decode().split())
    assert 'value="agendas" checked' in content
    assert 'value="papers" checked' not in content
    assert 'value="papers"' in content


def test_the_settings_page_turns_a_section_back_on(bob_client: Client, bob: User) -> None:
    DigestPreference.objects.create(person=bob, unsubscribed=["papers", "minutes"])
    kinds = ["actions_due", "actions_assigned", "papers", "agendas"]
    response = bob_client.post(
        "/account/action-reminders/", {"frequency": "daily", "sections": kinds}
    )
    assert response.status_code == 302
    preference = DigestPreference.objects.get(person=bob)
    assert preference.unsubscribed == ["minutes"]
    assert preference.frequency == DigestFrequency.DAILY


def test_the_settings_page_refuses_an_unknown_section(bob_client: Client, bob: User) -> None:
    response = bob_client.post(
        "/account/action-reminders/", {"frequency": "daily", "sections": ["gossip"]}
    )
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert not DigestPreference.objects.exists()
