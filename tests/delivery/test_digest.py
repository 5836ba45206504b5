"""The email digest's action sections: one digest per person, as often as they chose,
never twice a day. The sections other apps add are tested in tests/meetings/test_notifications.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Membership, Partnership, User
from partnerwell.delivery.models import Action, DigestFrequency, DigestPreference
from partnerwell.delivery.tasks import send_digests
from tests.delivery.test_actions import make_action

MONDAY = dt.date(2026, 11, 23)
TUESDAY = MONDAY + dt.timedelta(days=1)


def _days(n: int, start: dt.date = MONDAY) -> dt.date:
    return start + dt.timedelta(days=n)


def _send(day: dt.date) -> int:
    return send_digests.call(on=day.isoformat())


def _to(person: User) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [person.email]]


def _age_actions() -> None:
    # Made long before any digest, so they are not "newly given" to anyone.
    Action.objects.update(created_at=timezone.now() - dt.timedelta(days=60))


def _prefer(person: User, frequency: str, last_sent_on: dt.date | None = None) -> None:
    DigestPreference.objects.update_or_create(
        person=person, defaults={"frequency": frequency, "last_sent_on": last_sent_on}
    )


@pytest.fixture
def bobs_actions(bob: User, partnership_a: Partnership) -> None:
    make_action(bob, partnership_a, title="Late one", due=_days(-3))
    make_action(bob, partnership_a, title="Soon one", due=_days(2), status="in_progress")
    make_action(bob, partnership_a, title="Week one", due=_days(7), status="proposed")
    # Not for the email: too far off, done, or dropped.
    make_action(bob, partnership_a, title="Far one", due=_days(8))
    make_action(
        bob, partnership_a, title="Done one", due=_days(-1), status="done", done_on=_days(-2)
    )
    make_action(
        bob, partnership_a, title="Dropped one", due=_days(1), status="dropped", drop_reason="x"
    )
    _age_actions()


def test_it_sends_one_email_listing_all_of_a_persons_actions(
    bobs_actions: None, bob: User, alice: User, partnership_a: Partnership
) -> None:
    make_action(alice, partnership_a, title="Alice's late one", due=_days(-1))
    _age_actions()
    assert MONDAY.weekday() == 0
    assert _send(MONDAY) == 2
    [email] = _to(bob)
    assert email.subject == "Your digest: 3 actions needing attention"
    for title in ("Late one", "Soon one", "Week one"):
        assert title in email.body
    for title in ("Far one", "Done one", "Dropped one", "Alice's late one"):
        assert title not in email.body
    assert email.body.index("OVERDUE") < email.body.index("Late one")
    assert email.body.index("DUE IN THE NEXT 7 DAYS") < email.body.index("Soon one")
    assert "/account/action-reminders/" in email.body
    assert len(_to(alice)) == 1
    assert DigestPreference.objects.get(person=bob).last_sent_on == MONDAY


def test_it_sends_nothing_to_a_person_who_chose_never(bobs_actions: None, bob: User) -> None:
    _prefer(bob, DigestFrequency.NONE)
    assert _send(MONDAY) == 0
    assert mail.outbox == []


def test_it_sends_weekly_digests_only_on_mondays(bobs_actions: None, bob: User) -> None:
    assert _send(TUESDAY) == 0
    assert mail.outbox == []
    assert not DigestPreference.objects.filter(person=bob, last_sent_on__isnull=False).exists()
    _prefer(bob, DigestFrequency.WEEKLY)
    assert _send(_days(6)) == 0  # Sunday
    assert _send(_days(7)) == 1  # the next Monday
    assert len(_to(bob)) == 1


def test_it_sends_daily_digests_every_day(bobs_actions: None, bob: User) -> None:
    _prefer(bob, DigestFrequency.DAILY)
    assert _send(TUESDAY) == 1
    assert _send(_days(2)) == 1
    assert len(_to(bob)) == 2
    assert DigestPreference.objects.get(person=bob).last_sent_on == _days(2)


def test_it_never_sends_twice_on_the_same_day(bobs_actions: None, bob: User) -> None:
    _prefer(bob, DigestFrequency.DAILY)
    assert _send(MONDAY) == 1
    assert _send(MONDAY) == 0
    assert len(_to(bob)) == 1
    _prefer(bob, DigestFrequency.DAILY, last_sent_on=TUESDAY)
    assert _send(TUESDAY) == 0
    assert len(mail.outbox) == 1


def test_it_sends_nothing_to_a_person_with_nothing_due(
    bob: User, partnership_a: Partnership
) -> None:
    make_action(bob, partnership_a, title="Far one", due=_days(30))
    _age_actions()
    assert _send(MONDAY) == 0
    assert mail.outbox == []
    assert not DigestPreference.objects.exists()


def test_it_sends_nothing_about_a_partnership_the_person_has_left(
    bobs_actions: None, bob: User
) -> None:
    Membership.objects.filter(person=bob).update(end_date=_days(-1))
    assert _send(MONDAY) == 0
    assert mail.outbox == []


def test_it_puts_the_date_back_when_sending_fails(
    bobs_actions: None, bob: User, settings: pytest.FixtureRequest
) -> None:
    _prefer(bob, DigestFrequency.DAILY, last_sent_on=_days(-1))
    settings.EMAIL_BACKEND = "tests.delivery.test_digest.FailingBackend"  # type: ignore[attr-defined]
    assert _send(MONDAY) == 0
    assert DigestPreference.objects.get(person=bob).last_sent_on == _days(-1)


def test_one_failed_digest_does_not_stop_or_repeat_the_others(
    bobs_actions: None, bob: User, alice: User, settings: pytest.FixtureRequest
) -> None:
    # alice owns an overdue action too; only bob's address fails at the mail server.
    bobs = Action.objects.filter(owner__person=bob).first()
    assert bobs is not None
    Action.objects.create(
        partnership=bobs.partnership,
        title="Alice's overdue action",
        owner=Membership.objects.get(person=alice),
        organisation=bobs.organisation,
        due_date=_days(-3),
    )
    Action.objects.filter(title="Alice's overdue action").update(
        created_at=timezone.now() - dt.timedelta(days=60)
    )
    _prefer(bob, DigestFrequency.DAILY, last_sent_on=_days(-1))
    _prefer(alice, DigestFrequency.DAILY, last_sent_on=_days(-1))
    settings.EMAIL_BACKEND = "tests.delivery.test_digest.FailsForBob"  # type: ignore[attr-defined]
    FailsForBob.delivered = []
    assert _send(MONDAY) == 1
    assert FailsForBob.delivered == [alice.email]
    # bob's date is put back so the next run tries again; alice's stays, so she gets no repeat.
    assert DigestPreference.objects.get(person=bob).last_sent_on == _days(-1)
    assert DigestPreference.objects.get(person=alice).last_sent_on == MONDAY


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages: object) -> int:
        raise OSError("The mail server is down.")


class FailsForBob(BaseEmailBackend):
    delivered: ClassVar[list[str]] = []

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        for message in messages:
            if "bob@" in message.to[0]:
                raise OSError("Mailbox unavailable.")
            FailsForBob.delivered.append(message.to[0])
        return len(messages)


def test_the_command_queues_the_digests(bobs_actions: None, bob: User) -> None:
    # The test settings run tasks at once, so queueing is sending here.
    _prefer(bob, DigestFrequency.DAILY)
    call_command("send_digests")
    assert len(_to(bob)) == 1
    call_command("send_digests")
    assert len(_to(bob)) == 1


# Choosing how often ----------------------------------------------------------------------


def test_it_shows_weekly_as_the_default_choice(bob_client: Client) -> None:
    response = bob_client.get("/account/action-reminders/")
    assert response.status_code == 200
    content = " ".join(response.content.decode().split())
    assert 'value="weekly" checked="checked"' in content
    assert 'value="daily" checked' not in content
    assert not DigestPreference.objects.exists()


def test_it_saves_the_chosen_frequency(bob_client: Client, bob: User) -> None:
    response = bob_client.post("/account/action-reminders/", {"frequency": "daily"})
    assert response.status_code == 302
    preference = DigestPreference.objects.get(person=bob)
    assert preference.frequency == DigestFrequency.DAILY
    bob_client.post("/account/action-reminders/", {"frequency": "none"})
    preference.refresh_from_db()
    assert preference.frequency == DigestFrequency.NONE
    assert DigestPreference.objects.count() == 1


def test_it_explains_a_missing_choice(bob_client: Client) -> None:
    response = bob_client.post("/account/action-reminders/", {"frequency": "hourly"})
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert not DigestPreference.objects.exists()


def test_it_asks_anonymous_visitors_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/account/action-reminders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
