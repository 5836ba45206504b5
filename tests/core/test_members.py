from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import mail
from django.test import Client

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User


def _add(client: Client, partnership: Partnership, organisation: Organisation, **extra: object):
    data = {
        "name": "Erin New",
        "email": "Erin@Example.org",
        "organisation": organisation.pk,
        "role": Role.MEMBER,
        "side": partnership.sides.get(name="Staff side").pk,
        "decision_maker": "on",
        "responsibilities_text": "media liaison, media liaison, safeguarding",
        "start_date": "2025-04-01",
    }
    data.update(extra)
    return client.post(f"/partnerships/{partnership.pk}/members/add/", data)


def test_it_adds_a_member_and_invites_them(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    union: Organisation,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The invitation is queued once the new member is safely saved.
    with django_capture_on_commit_callbacks(execute=True):
        response = _add(alice_client, partnership_a, union)
    assert response.status_code == 302
    erin = User.objects.get(email="erin@example.org")
    assert not erin.has_usable_password()
    membership = Membership.objects.get(person=erin)
    assert membership.organisation == union
    assert membership.side.name == "Staff side"
    assert membership.decision_maker is True
    assert membership.responsibilities == ["media liaison", "safeguarding"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["erin@example.org"]
    assert "/accounts/invitation/" in mail.outbox[0].body
    assert "Alice Manager" in mail.outbox[0].body


def test_it_adds_an_existing_person_without_a_new_account(
    alice_client: Client,
    partnership_a: Partnership,
    union: Organisation,
    carol: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _add(alice_client, partnership_a, union, email="CAROL@example.org", name="Carol Other")
    assert User.objects.filter(email__iexact="carol@example.org").count() == 1
    assert carol.memberships.count() == 2
    # Carol already has a password: no invitation, but she is told she was added.
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert "Alpha Forum" in mail.outbox[0].subject
    assert "/accounts/invitation/" not in str(mail.outbox[0].body)


def test_it_refuses_a_second_membership_of_the_same_person(
    alice_client: Client, bob: User, partnership_a: Partnership, union: Organisation
) -> None:
    response = _add(alice_client, partnership_a, union, email="bob@example.org")
    assert response.status_code == 200
    assert b"already a member of this partnership" in response.content
    assert Membership.objects.filter(person=bob).count() == 1


def test_it_needs_a_side_when_the_partnership_has_sides(
    alice_client: Client, partnership_a: Partnership, union: Organisation
) -> None:
    response = _add(alice_client, partnership_a, union, side="")
    assert response.status_code == 200
    assert not User.objects.filter(email="erin@example.org").exists()


def test_it_needs_the_member_a_deputy_stands_in_for(
    alice_client: Client, bob: User, partnership_a: Partnership, union: Organisation
) -> None:
    response = _add(alice_client, partnership_a, union, role=Role.DEPUTY)
    assert response.status_code == 200
    assert b"Choose the member this deputy stands in for" in response.content
    bob_membership = Membership.objects.get(person=bob)
    response = _add(
        alice_client, partnership_a, union, role=Role.DEPUTY, deputy_for=bob_membership.pk
    )
    assert response.status_code == 302
    deputy = Membership.objects.get(person__email="erin@example.org")
    assert deputy.deputy_for == bob_membership


def test_it_refuses_an_end_before_the_start(
    alice_client: Client, partnership_a: Partnership, union: Organisation
) -> None:
    response = _add(alice_client, partnership_a, union, end_date="2025-01-01")
    assert response.status_code == 200
    assert b"end date must be on or after the start date" in response.content
    assert not User.objects.filter(email="erin@example.org").exists()


def test_it_refuses_adding_by_a_plain_member(
    bob_client: Client, partnership_a: Partnership, union: Organisation
) -> None:
    response = _add(bob_client, partnership_a, union)
    assert response.status_code == 403
    assert not User.objects.filter(email="erin@example.org").exists()


def test_it_lets_a_manager_change_a_membership(
    alice_client: Client, bob: User, partnership_a: Partnership, council: Organisation
) -> None:
    membership = Membership.objects.get(person=bob)
    response = alice_client.post(
        f"/members/{membership.pk}/edit/",
        {
            "organisation": council.pk,
            "role": Role.VICE_CHAIR,
            "side": partnership_a.sides.get(name="Staff side").pk,
            "decision_maker": "on",
            "responsibilities_text": "finance",
            "start_date": "2024-01-01",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.VICE_CHAIR
    assert membership.side.name == "Staff side"
    assert membership.responsibilities == ["finance"]


def test_it_lets_a_member_change_only_their_own_responsibilities(
    bob_client: Client, bob: User
) -> None:
    membership = Membership.objects.get(person=bob)
    response = bob_client.post(
        f"/members/{membership.pk}/edit/",
        {"responsibilities_text": "media liaison", "role": Role.CHAIR},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.responsibilities == ["media liaison"]
    assert membership.role == Role.MEMBER  # the role field is not theirs to change


def test_it_stops_a_member_changing_someone_else(bob_client: Client, dave: User) -> None:
    membership = Membership.objects.get(person=dave)
    response = bob_client.post(f"/members/{membership.pk}/edit/", {"responsibilities_text": "x"})
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.responsibilities == []


def test_it_ends_a_membership(alice_client: Client, bob: User) -> None:
    membership = Membership.objects.get(person=bob)
    response = alice_client.post(f"/members/{membership.pk}/end/")
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.end_date is not None
    assert not membership.is_current


def test_it_wants_post_to_end_a_membership(alice_client: Client, bob: User) -> None:
    membership = Membership.objects.get(person=bob)
    response = alice_client.get(f"/members/{membership.pk}/end/")
    assert response.status_code == 405
    membership.refresh_from_db()
    assert membership.end_date is None


def test_it_refuses_ending_by_a_plain_member(bob_client: Client, dave: User) -> None:
    membership = Membership.objects.get(person=dave)
    response = bob_client.post(f"/members/{membership.pk}/end/")
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.end_date is None


def test_it_hides_an_ended_member_partnership_from_them(
    alice_client: Client, bob: User, bob_client: Client, partnership_a: Partnership
) -> None:
    membership = Membership.objects.get(person=bob)
    membership.end_date = dt.date(2024, 6, 1)
    membership.save()
    assert bob_client.get(f"/partnerships/{partnership_a.pk}/").status_code == 404


def test_it_shows_every_visible_membership_on_the_member_page(
    alice_client: Client,
    bob: User,
    partnership_a: Partnership,
    partnership_b: Partnership,
    charity: Organisation,
    carol: User,
) -> None:
    # Bob also sits on partnership B, which Alice cannot see.
    Membership.objects.create(
        partnership=partnership_b, person=bob, organisation=charity, role=Role.MEMBER
    )
    response = alice_client.get(f"/people/{bob.pk}/")
    assert response.status_code == 200
    assert b"Alpha Forum" in response.content
    assert b"Beta Board" not in response.content
    own = Client()
    own.force_login(bob)
    response = own.get(f"/people/{bob.pk}/")
    assert b"Alpha Forum" in response.content
    assert b"Beta Board" in response.content
