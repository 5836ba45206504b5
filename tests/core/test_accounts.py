"""Signing in and out, password resets and invitations, with emails sent by the worker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from partnerwell.core.models import Organisation, Partnership, User
from partnerwell.core.services import member_add
from tests.conftest import PASSWORD

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, body
    return match.group(1)


def test_it_signs_in_with_email_and_password(client: Client, alice: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "ALICE@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_explains_a_wrong_password(client: Client, alice: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice@example.org", "password": "nope"}
    )
    assert response.status_code == 200
    assert b"The email address or password is not right" in response.content
    assert "_auth_user_id" not in client.session


def test_it_signs_out_on_post_only(alice_client: Client) -> None:
    assert alice_client.get("/accounts/logout/").status_code == 405
    response = alice_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert alice_client.get("/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_it_sends_password_resets_from_the_worker(settings: Any, client: Client) -> None:
    settings.TASKS = DATABASE_QUEUE
    User.objects.create_user(email="alice@example.org", name="Alice", password=PASSWORD)
    response = client.post("/accounts/password-reset/", {"email": "alice@example.org"})
    assert response.status_code == 302
    # Nothing is sent inside the request: the email waits in the queue for the worker.
    assert mail.outbox == []
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0].body)
    page = client.get(link, follow=True)
    assert b"Choose a new password" in page.content
    response = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="alice@example.org").check_password("a new long passphrase")
    # The link works once.
    assert b"no longer works" in Client().get(link, follow=True).content


@pytest.mark.django_db(transaction=True)
def test_it_says_nothing_about_unknown_emails(settings: Any, client: Client) -> None:
    settings.TASKS = DATABASE_QUEUE
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_it_invites_a_new_member_to_set_a_password(settings: Any) -> None:
    settings.TASKS = DATABASE_QUEUE
    manager = User.objects.create_user(email="alice@example.org", name="Alice", password=PASSWORD)
    partnership = Partnership.objects.create(name="Alpha", kind="other")
    org = Organisation.objects.create(name="Org", sector="other")
    member_add(
        by=manager,
        partnership=partnership,
        email="new@example.org",
        name="Nina New",
        organisation=org,
    )
    assert mail.outbox == []
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(mail.outbox) == 1
    assert "Alpha" in mail.outbox[0].subject
    client = Client()
    page = client.get(_link(mail.outbox[0].body), follow=True)
    assert b"Welcome to partnerwell" in page.content
    response = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "my first passphrase", "new_password2": "my first passphrase"},
    )
    assert response.status_code == 302
    # Setting the password signs the person in and shows their partnership.
    assert b"Alpha" in client.get("/").content
    reused = Client().get(_link(mail.outbox[0].body), follow=True)
    assert b"This invitation no longer works" in reused.content


def test_it_rejects_a_made_up_invitation_link(client: Client, db: None) -> None:
    response = client.get("/accounts/invitation/MQ/abc-123/", follow=True)
    assert b"This invitation no longer works" in response.content


def test_it_saves_my_name(alice_client: Client, alice: User) -> None:
    response = alice_client.post("/account/", {"name": "Alice M. Manager"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.name == "Alice M. Manager"
