"""The members API: list, get, add (inviting new people) and patch."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from tests.api.conftest import ApiClient, assert_error

CaptureCallbacks = Callable[..., Any]


def _newcomer(org: Organisation, **extra: object) -> dict[str, object]:
    return {
        "email": " Erin.New@Example.org ",
        "name": "Erin Newcomer",
        "organisation_id": org.pk,
        "side": "Staff side",
        **extra,
    }


def test_it_lists_a_partnerships_members(
    alice: User, bob: User, dave: User, bob_api: ApiClient, partnership_a: Partnership
) -> None:
    body = bob_api.get(f"/partnerships/{partnership_a.pk}/members").json()
    assert body["count"] == 3
    assert [m["person"]["name"] for m in body["items"]] == [
        "Alice Manager",
        "Bob Member",
        "Dave Staffside",
    ]
    alice_row = body["items"][0]
    assert alice_row["role"] == "manager"
    assert alice_row["side"] == "Management side"
    assert alice_row["organisation"]["name"] == "Testshire Council"
    assert alice_row["current"] is True


def test_it_filters_current_and_past_members(
    alice: User,
    bob: User,
    bob_member: Membership,
    alice_api: ApiClient,
    partnership_a: Partnership,
) -> None:
    bob_member.end_date = timezone.localdate() - dt.timedelta(days=1)
    bob_member.save()
    url = f"/partnerships/{partnership_a.pk}/members"
    current = alice_api.get(url + "?current=true").json()["items"]
    past = alice_api.get(url + "?current=false").json()["items"]
    everyone = alice_api.get(url).json()["items"]
    assert [m["person"]["name"] for m in current] == ["Alice Manager"]
    assert [m["person"]["name"] for m in past] == ["Bob Member"]
    assert past[0]["current"] is False
    assert len(everyone) == 2


def test_it_gets_a_member(bob_api: ApiClient, dave_member: Membership) -> None:
    response = bob_api.get(f"/members/{dave_member.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == dave_member.pk
    assert body["partnership_id"] == dave_member.partnership_id
    assert body["person"] == {
        "id": dave_member.person_id,
        "name": "Dave Staffside",
        "email": "dave@example.org",
    }
    assert body["side"] == "Staff side"
    assert body["start_date"] == "2024-01-01"
    assert body["end_date"] is None


def test_it_adds_and_invites_a_new_person(
    alice_api: ApiClient,
    partnership_a: Partnership,
    union: Organisation,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(
            f"/partnerships/{partnership_a.pk}/members",
            _newcomer(union, responsibilities=[" media liaison ", "", "Media Liaison", "safety"]),
        )
    assert response.status_code == 201
    body = response.json()
    assert body["person"]["email"] == "erin.new@example.org"
    assert body["side"] == "Staff side"
    assert body["role"] == "member"
    assert body["responsibilities"] == ["media liaison", "safety"]

    person = User.objects.get(email="erin.new@example.org")
    assert person.name == "Erin Newcomer"
    assert not person.has_usable_password()
    membership = Membership.objects.get(person=person)
    assert membership.partnership == partnership_a
    assert membership.organisation == union
    assert membership.start_date == timezone.localdate()

    assert len(mail.outbox) == 1
    invitation = mail.outbox[0]
    assert invitation.to == ["erin.new@example.org"]
    assert "Alpha Forum" in invitation.subject
    assert "Alice Manager has added you to Alpha Forum" in invitation.body
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    assert re.search(rf"https?://\S+/accounts/invitation/{uid}/[\w-]+/", invitation.body)


def test_it_adds_an_existing_person_without_inviting_them(
    carol: User,
    alice_api: ApiClient,
    partnership_a: Partnership,
    charity: Organisation,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(
            f"/partnerships/{partnership_a.pk}/members",
            _newcomer(charity, email="CAROL@example.org", name="Someone Else"),
        )
    assert response.status_code == 201
    assert response.json()["person"]["id"] == carol.pk
    carol.refresh_from_db()
    assert carol.name == "Carol Other"
    assert Membership.objects.filter(person=carol, partnership=partnership_a).exists()
    # Not invited (she has a password) but told she was added, with a link to it.
    assert [m.to for m in mail.outbox] == [["carol@example.org"]]
    assert "/accounts/invitation/" not in str(mail.outbox[0].body)
    assert f"/partnerships/{partnership_a.pk}/" in str(mail.outbox[0].body)


def test_it_refuses_someone_who_is_already_a_member(
    bob: User, alice_api: ApiClient, partnership_a: Partnership, council: Organisation
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members",
        _newcomer(council, email="bob@example.org", side="Management side"),
    )
    body = assert_error(response, 422)
    assert "already a member" in body["message"]
    assert Membership.objects.filter(person=bob).count() == 1


def test_it_refuses_a_side_the_partnership_does_not_have(
    alice_api: ApiClient, partnership_a: Partnership, union: Organisation
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members", _newcomer(union, side="Board side")
    )
    body = assert_error(response, 422)
    assert body["errors"][0]["field"] == "side"
    assert "Management side" in body["message"]
    assert not User.objects.filter(email="erin.new@example.org").exists()


def test_it_needs_a_side_when_the_partnership_has_sides(
    alice_api: ApiClient, partnership_a: Partnership, union: Organisation
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members", _newcomer(union, side=None)
    )
    assert assert_error(response, 422)["errors"][0]["field"] == "side"
    assert not User.objects.filter(email="erin.new@example.org").exists()


def test_it_adds_a_deputy_for_a_member_of_the_same_partnership(
    alice_api: ApiClient, partnership_a: Partnership, union: Organisation, dave_member: Membership
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members",
        _newcomer(union, role="deputy", deputy_for_id=dave_member.pk),
    )
    assert response.status_code == 201
    assert response.json()["deputy_for_id"] == dave_member.pk
    assert Membership.objects.get(pk=response.json()["id"]).deputy_for == dave_member


def test_it_refuses_a_deputy_for_a_member_of_another_partnership(
    alice_api: ApiClient, partnership_a: Partnership, union: Organisation, carol_member: Membership
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members",
        _newcomer(union, role="deputy", deputy_for_id=carol_member.pk),
    )
    body = assert_error(response, 422)
    assert body["errors"][0]["field"] == "deputy_for_id"
    assert "Carol" not in response.content.decode()
    assert not User.objects.filter(email="erin.new@example.org").exists()


def test_it_refuses_a_member_who_ends_before_starting(
    alice_api: ApiClient, partnership_a: Partnership, union: Organisation
) -> None:
    response = alice_api.post(
        f"/partnerships/{partnership_a.pk}/members",
        _newcomer(union, start_date="2025-06-01", end_date="2025-05-31"),
    )
    assert assert_error(response, 422)["errors"][0]["field"] == "end_date"
    assert not User.objects.filter(email="erin.new@example.org").exists()


def test_it_refuses_to_add_members_for_a_member_who_does_not_manage(
    bob_api: ApiClient, partnership_a: Partnership, union: Organisation
) -> None:
    response = bob_api.post(f"/partnerships/{partnership_a.pk}/members", _newcomer(union))
    assert_error(response, 403)
    assert not User.objects.filter(email="erin.new@example.org").exists()


# Patching --------------------------------------------------------------------


def test_it_lets_a_manager_patch_any_field(
    alice_api: ApiClient, bob_member: Membership, union: Organisation
) -> None:
    response = alice_api.patch(
        f"/members/{bob_member.pk}",
        {
            "organisation_id": union.pk,
            "role": "vice_chair",
            "side": "staff SIDE",
            "decision_maker": True,
            "responsibilities": ["Minutes"],
            "start_date": "2024-02-01",
            "end_date": "2026-01-31",
        },
    )
    assert response.status_code == 200
    assert response.json()["side"] == "Staff side"
    bob_member.refresh_from_db()
    assert bob_member.organisation == union
    assert bob_member.role == Role.VICE_CHAIR
    assert bob_member.side is not None
    assert bob_member.side.name == "Staff side"
    assert bob_member.decision_maker is True
    assert bob_member.responsibilities == ["Minutes"]
    assert bob_member.start_date == dt.date(2024, 2, 1)
    assert bob_member.end_date == dt.date(2026, 1, 31)


def test_it_clears_an_end_date_with_null(alice_api: ApiClient, bob_member: Membership) -> None:
    bob_member.end_date = dt.date(2099, 1, 1)
    bob_member.save()
    response = alice_api.patch(f"/members/{bob_member.pk}", {"end_date": None})
    assert response.status_code == 200
    bob_member.refresh_from_db()
    assert bob_member.end_date is None


def test_it_lets_a_member_change_their_own_responsibilities(
    bob_api: ApiClient, bob_member: Membership
) -> None:
    response = bob_api.patch(
        f"/members/{bob_member.pk}", {"responsibilities": ["Safeguarding lead ", " "]}
    )
    assert response.status_code == 200
    bob_member.refresh_from_db()
    assert bob_member.responsibilities == ["Safeguarding lead"]


@pytest.mark.parametrize(
    "change",
    [
        {"role": "manager"},
        {"decision_maker": True},
        {"side": "Staff side"},
        {"end_date": None},
        {"start_date": "2020-01-01"},
        {"deputy_for_id": None},
        {"responsibilities": ["Chair's friend"], "role": "chair"},
    ],
)
def test_it_refuses_a_member_changing_more_than_their_responsibilities(
    bob_api: ApiClient, bob_member: Membership, change: dict[str, object]
) -> None:
    response = bob_api.patch(f"/members/{bob_member.pk}", change)
    assert "responsibilities" in assert_error(response, 403)["message"]
    bob_member.refresh_from_db()
    assert bob_member.role == Role.MEMBER
    assert bob_member.side is not None
    assert bob_member.side.name == "Management side"
    assert bob_member.responsibilities == []
    assert bob_member.start_date == dt.date(2024, 1, 1)


def test_it_refuses_a_member_changing_someone_elses_responsibilities(
    bob_api: ApiClient, dave_member: Membership
) -> None:
    response = bob_api.patch(f"/members/{dave_member.pk}", {"responsibilities": ["Nothing"]})
    assert_error(response, 403)
    dave_member.refresh_from_db()
    assert dave_member.responsibilities == []


def test_it_makes_a_member_a_deputy_for_a_member_of_the_same_partnership(
    alice_api: ApiClient, bob_member: Membership, alice_member: Membership
) -> None:
    response = alice_api.patch(
        f"/members/{bob_member.pk}", {"role": "deputy", "deputy_for_id": alice_member.pk}
    )
    assert response.status_code == 200
    bob_member.refresh_from_db()
    assert bob_member.deputy_for == alice_member


def test_it_refuses_a_deputy_for_someone_in_another_partnership(
    alice_api: ApiClient, bob_member: Membership, carol_member: Membership
) -> None:
    response = alice_api.patch(
        f"/members/{bob_member.pk}", {"role": "deputy", "deputy_for_id": carol_member.pk}
    )
    assert assert_error(response, 422)["errors"][0]["field"] == "deputy_for_id"
    bob_member.refresh_from_db()
    assert bob_member.deputy_for is None
    assert bob_member.role == Role.MEMBER


def test_it_refuses_a_member_deputising_for_themself(
    alice_api: ApiClient, bob_member: Membership
) -> None:
    response = alice_api.patch(
        f"/members/{bob_member.pk}", {"role": "deputy", "deputy_for_id": bob_member.pk}
    )
    assert assert_error(response, 422)["errors"][0]["field"] == "deputy_for"
    bob_member.refresh_from_db()
    assert bob_member.deputy_for is None


def test_it_refuses_a_side_that_is_not_one_of_the_partnerships(
    alice_api: ApiClient, bob_member: Membership, carol: User
) -> None:
    # Partnership B has a side of its own; its name still is not one of A's.
    partnership_b = carol.memberships.get().partnership
    partnership_b.sides.create(name="Board side")
    for side in ["Board side", "Nonsense side", None]:
        response = alice_api.patch(f"/members/{bob_member.pk}", {"side": side})
        assert assert_error(response, 422)["errors"][0]["field"] == "side"
    bob_member.refresh_from_db()
    assert bob_member.side is not None
    assert bob_member.side.name == "Management side"


def test_it_refuses_an_end_date_before_the_start(
    alice_api: ApiClient, bob_member: Membership
) -> None:
    response = alice_api.patch(f"/members/{bob_member.pk}", {"end_date": "2023-12-31"})
    assert assert_error(response, 422)["errors"][0]["field"] == "end_date"
    bob_member.refresh_from_db()
    assert bob_member.end_date is None
