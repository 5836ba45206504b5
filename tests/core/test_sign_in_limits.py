"""Limits on wrong passwords and password reset emails (issue 9, item 3).

Attacked as found: many wrong passwords then the right one; many reset
requests for one address.
"""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.test import Client

from partnerwell.core import guessing
from partnerwell.core.models import User
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"
RESET = "/accounts/password-reset/"
WAIT = "Too many wrong passwords have been tried. Wait 15 minutes"


def _sign_in(client: Client, email: str, password: str) -> tuple[int, str]:
    response = client.post(LOGIN, {"username": email, "password": password})
    return response.status_code, response.content.decode()


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# Wrong passwords -------------------------------------------------------------------


def test_it_refuses_the_right_password_after_too_many_wrong_ones_from_one_client(
    alice: User, bob: User
) -> None:
    guesser = Client(REMOTE_ADDR="198.51.100.1")
    for number in range(guessing.SIGN_IN_FAILURES_PER_ACCOUNT):
        status, page = _sign_in(guesser, "alice@example.org", f"wrong-{number}")
        assert status == 200

    status, page = _sign_in(guesser, "Alice@Example.org ", PASSWORD)

    assert status == 200
    assert WAIT in page
    assert 'value="Alice@Example.org' in page  # the typed email stays in the form
    assert not _signed_in(guesser)
    # Another account from the same client is not held up.
    _sign_in(guesser, "bob@example.org", PASSWORD)
    assert _signed_in(guesser)


def test_it_does_not_lock_the_owner_out_for_guesses_made_elsewhere(alice: User) -> None:
    guesser = Client(REMOTE_ADDR="198.51.100.2")
    for number in range(guessing.SIGN_IN_FAILURES_PER_ADDRESS):
        _sign_in(guesser, "alice@example.org", f"wrong-{number}")
    assert WAIT in _sign_in(guesser, "alice@example.org", PASSWORD)[1]

    owner = Client(REMOTE_ADDR="203.0.113.50")
    _sign_in(owner, "alice@example.org", PASSWORD)

    assert _signed_in(owner)


def test_it_refuses_the_account_everywhere_after_guessing_spread_over_many_clients(
    alice: User,
) -> None:
    # Each client stays under its own allowance; together they pass the account's cap.
    per_client = guessing.SIGN_IN_FAILURES_PER_ACCOUNT - 1
    clients = -(-guessing.SIGN_IN_FAILURES_PER_ACCOUNT_EVERYWHERE // per_client)
    for number in range(clients):
        guesser = Client(REMOTE_ADDR=f"198.51.100.{number + 10}")
        for attempt in range(per_client):
            _sign_in(guesser, "alice@example.org", f"wrong-{attempt}")

    owner = Client(REMOTE_ADDR="203.0.113.51")
    _status, page = _sign_in(owner, "alice@example.org", PASSWORD)

    assert WAIT in page
    assert not _signed_in(owner)


def test_it_says_how_long_to_wait_on_the_wrong_password_that_uses_up_the_allowance(
    alice: User,
) -> None:
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    pages = [
        _sign_in(guesser, "alice@example.org", "wrong")[1]
        for _ in range(guessing.SIGN_IN_FAILURES_PER_ACCOUNT)
    ]

    assert all(WAIT not in page and "not right" in page for page in pages[:-1])
    assert WAIT in pages[-1]


def test_it_refuses_an_address_that_guesses_many_accounts(alice: User) -> None:
    guesser = Client(REMOTE_ADDR="198.51.100.20")
    for number in range(guessing.SIGN_IN_FAILURES_PER_ADDRESS):
        _sign_in(guesser, f"person{number}@example.org", "wrong")

    _status, page = _sign_in(guesser, "alice@example.org", PASSWORD)

    assert WAIT in page
    assert not _signed_in(guesser)
    # Alice from her own connection is not held up by the guesser.
    elsewhere = Client(REMOTE_ADDR="203.0.113.51")
    _sign_in(elsewhere, "alice@example.org", PASSWORD)
    assert _signed_in(elsewhere)


def test_it_does_not_forgive_an_address_when_one_of_its_guesses_signs_in(
    alice: User, bob: User
) -> None:
    guesser = Client(REMOTE_ADDR="198.51.100.30")
    for number in range(guessing.SIGN_IN_FAILURES_PER_ADDRESS - 1):
        _sign_in(guesser, f"person{number}@example.org", "wrong")
    _sign_in(guesser, "alice@example.org", PASSWORD)
    assert _signed_in(guesser)
    guesser.logout()

    _sign_in(guesser, "someone@example.org", "wrong")
    _status, page = _sign_in(guesser, "bob@example.org", PASSWORD)

    assert WAIT in page
    assert not _signed_in(guesser)


def test_it_refuses_the_admin_sign_in_while_the_account_waits(alice: User) -> None:
    User.objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    admin = Client(REMOTE_ADDR="203.0.113.52")
    for _ in range(guessing.SIGN_IN_FAILURES_PER_ACCOUNT):
        admin.post("/admin/login/", {"username": "alice@example.org", "password": "wrong"})

    admin.post("/admin/login/", {"username": "alice@example.org", "password": PASSWORD})

    assert not _signed_in(admin)


def test_it_lets_the_account_in_after_the_wait(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = 3
    monkeypatch.setattr(guessing, "SIGN_IN_WINDOW_SECONDS", window)
    # Few guesses, so they all fit in a short window on a slow machine.
    monkeypatch.setattr(guessing, "SIGN_IN_FAILURES_PER_ACCOUNT", 2)
    guesser = Client(REMOTE_ADDR="198.51.100.60")
    started = time.monotonic()
    for _ in range(guessing.SIGN_IN_FAILURES_PER_ACCOUNT):
        _sign_in(guesser, "alice@example.org", "wrong")
    _status, page = _sign_in(guesser, "alice@example.org", PASSWORD)
    elapsed = time.monotonic() - started
    assert elapsed < window, "the guesses took longer than the window; the test proves nothing"
    assert "Wait 1 minute, then" in page

    # The window runs from the first wrong password, which came after `started`.
    time.sleep(window + 0.2)
    _sign_in(guesser, "alice@example.org", PASSWORD)
    assert _signed_in(guesser)


# Password reset emails -------------------------------------------------------------


def _reset(client: Client, email: str) -> tuple[int, str]:
    response = client.post(RESET, {"email": email})
    return response.status_code, response.headers.get("Location", "")


def test_it_sends_only_a_few_reset_emails_for_one_account(alice: User) -> None:
    answers = {
        _reset(Client(REMOTE_ADDR=f"198.51.100.{number + 1}"), "alice@example.org")
        for number in range(30)
    }

    assert answers == {(302, "/accounts/password-reset/sent/")}
    assert [message.to for message in mail.outbox] == [["alice@example.org"]] * (
        guessing.RESETS_PER_ACCOUNT
    )


def test_it_limits_reset_requests_from_one_address(alice: User) -> None:
    asker = Client(REMOTE_ADDR="198.51.100.70")
    for number in range(guessing.RESETS_PER_ADDRESS):
        _reset(asker, f"nobody{number}@example.org")

    limited = _reset(asker, "alice@example.org")

    assert limited == (302, "/accounts/password-reset/sent/")
    assert mail.outbox == []
    # Alice asking from her own connection still gets her email.
    _reset(Client(REMOTE_ADDR="203.0.113.53"), "alice@example.org")
    assert [message.to for message in mail.outbox] == [["alice@example.org"]]


def test_it_answers_a_reset_request_the_same_whoever_asks(alice: User) -> None:
    client = Client(REMOTE_ADDR="198.51.100.80")
    known = client.post(RESET, {"email": "alice@example.org"}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.org"}, follow=True)
    for _ in range(guessing.RESETS_PER_ACCOUNT):
        client.post(RESET, {"email": "alice@example.org"})
    limited = client.post(RESET, {"email": "alice@example.org"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain == limited.redirect_chain
    assert known.content == unknown.content == limited.content
    assert len(mail.outbox) == guessing.RESETS_PER_ACCOUNT
