"""The API follows the same rules as the pages for starting partnerships and sub-groups."""

from __future__ import annotations

from typing import Any

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from tests.api.conftest import ApiClient, assert_error, db_state
from tests.conftest import allow_creating_partnerships


def _new(org: Organisation, **extra: object) -> dict[str, object]:
    return {"name": "Gamma Group", "type": "strategic", "organisation_id": org.pk, **extra}


def test_it_refuses_a_plain_signed_in_person(bob_api: ApiClient, council: Organisation) -> None:
    before = db_state()
    body = assert_error(bob_api.post("/partnerships", _new(council)), 403)
    assert "Only the site's administrators" in body["message"]
    assert db_state() == before


def test_it_lets_anyone_create_when_the_instance_says_so(
    bob: User, bob_api: ApiClient, council: Organisation, settings: Any
) -> None:
    settings.PARTNERSHIP_CREATORS = "anyone"
    response = bob_api.post("/partnerships", _new(council))
    assert response.status_code == 201
    membership = Membership.objects.get(partnership_id=response.json()["id"])
    assert (membership.person, membership.role) == (bob, Role.MANAGER)


def test_it_refuses_a_sub_group_from_a_plain_member_of_the_parent(
    bob: User, bob_api: ApiClient, council: Organisation, partnership_a: Partnership
) -> None:
    # Even someone allowed to start partnerships needs to manage the parent.
    allow_creating_partnerships(bob)
    before = db_state()
    response = bob_api.post(
        "/partnerships", _new(council, type="sub_group", parent_id=partnership_a.pk)
    )
    assert "managers and chairs of Alpha Forum" in assert_error(response, 403)["message"]
    assert db_state() == before


def test_it_lets_the_parents_manager_add_a_sub_group(
    alice_api: ApiClient, council: Organisation, partnership_a: Partnership
) -> None:
    response = alice_api.post(
        "/partnerships", _new(council, type="sub_group", parent_id=partnership_a.pk)
    )
    assert response.status_code == 201
    assert Partnership.objects.get(pk=response.json()["id"]).parent == partnership_a


def test_it_refuses_to_move_a_partnership_under_one_the_caller_only_sits_on(
    alice: User, alice_api: ApiClient, partnership_a: Partnership, council: Organisation
) -> None:
    other = Partnership.objects.create(name="Other Board", kind="strategic")
    Membership.objects.create(partnership=other, person=alice, organisation=council)
    response = alice_api.patch(f"/partnerships/{partnership_a.pk}", {"parent_id": other.pk})
    assert_error(response, 403)
    partnership_a.refresh_from_db()
    assert partnership_a.parent is None
    # Keeping the present parent needs no right over it.
    Partnership.objects.filter(pk=partnership_a.pk).update(parent=other)
    response = alice_api.patch(
        f"/partnerships/{partnership_a.pk}", {"parent_id": other.pk, "vision": "V"}
    )
    assert response.status_code == 200
