"""Wins to celebrate: any member records one, managers change them."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from partnerwell.core.models import Partnership, User
from partnerwell.delivery.models import Outcome, Win


def test_it_lets_any_member_record_a_win(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    outcome = Outcome.objects.create(partnership=partnership_a, title="Fewer falls")
    url = f"/partnerships/{partnership_a.pk}/wins/new/"
    assert "Fewer falls" in bob_client.get(url).content.decode()
    won_on = timezone.localdate() - dt.timedelta(days=3)
    response = bob_client.post(
        url, {"title": "Falls clinic opened", "won_on": won_on, "outcome": outcome.pk}
    )
    assert response.status_code == 302
    win = Win.objects.get()
    assert (win.title, win.won_on, win.outcome, win.recorded_by) == (
        "Falls clinic opened",
        won_on,
        outcome,
        bob,
    )
    listed = bob_client.get(f"/partnerships/{partnership_a.pk}/wins/").content.decode()
    assert "Falls clinic opened" in listed and "Fewer falls" in listed


def test_it_refuses_an_outcome_of_another_partnership(
    bob_client: Client, bob: User, partnership_a: Partnership, partnership_b: Partnership
) -> None:
    Outcome.objects.create(partnership=partnership_a, title="Ours")
    theirs = Outcome.objects.create(partnership=partnership_b, title="Theirs")
    response = bob_client.post(
        f"/partnerships/{partnership_a.pk}/wins/new/",
        {"title": "Sneaky", "won_on": timezone.localdate(), "outcome": theirs.pk},
    )
    assert response.status_code == 200
    assert "Choose one of this partnership" in response.content.decode()
    assert not Win.objects.exists()


def test_it_refuses_a_win_dated_in_the_future(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    response = bob_client.post(
        f"/partnerships/{partnership_a.pk}/wins/new/",
        {"title": "Not yet", "won_on": timezone.localdate() + dt.timedelta(days=1)},
    )
    assert "is in the future" in response.content.decode()
    assert not Win.objects.exists()


def test_it_lets_a_manager_change_a_win(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    win = Win.objects.create(partnership=partnership_a, title="Old words")
    assert alice_client.get(f"/wins/{win.pk}/edit/").status_code == 200
    response = alice_client.post(
        f"/wins/{win.pk}/edit/", {"title": "New words", "won_on": timezone.localdate()}
    )
    assert response.status_code == 302
    win.refresh_from_db()
    assert win.title == "New words"


def test_it_refuses_changes_to_a_win_from_a_plain_member(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    win = Win.objects.create(partnership=partnership_a, title="Old words", recorded_by=bob)
    assert bob_client.get(f"/wins/{win.pk}/edit/").status_code == 403
    response = bob_client.post(
        f"/wins/{win.pk}/edit/", {"title": "Bob's words", "won_on": timezone.localdate()}
    )
    assert response.status_code == 403
    win.refresh_from_db()
    assert win.title == "Old words"
