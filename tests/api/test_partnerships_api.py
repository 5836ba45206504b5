"""The partnerships API: list, get, create and patch."""

from __future__ import annotations

import pytest
from django.utils import timezone

from partnerwell.core.models import (
    Membership,
    Organisation,
    Partnership,
    PartnershipType,
    Role,
    Side,
    User,
)
from tests.api.conftest import ApiClient, assert_error
from tests.conftest import allow_creating_partnerships


@pytest.fixture(autouse=True)
def _creators_may_create(request: pytest.FixtureRequest) -> None:
    # Creating a partnership needs the right (PARTNERSHIP_CREATORS=administrators):
    # the people these tests create with hold it, as an area coordinator would.
    for name in ("alice", "carol"):
        if name in request.fixturenames:
            allow_creating_partnerships(request.getfixturevalue(name))


def _new(org: Organisation, **extra: object) -> dict[str, object]:
    return {"name": "Gamma Group", "type": "strategic", "organisation_id": org.pk, **extra}


def test_it_lists_only_the_callers_partnerships(
    alice_api: ApiClient, carol: User, partnership_b: Partnership
) -> None:
    body = alice_api.get("/partnerships").json()
    assert body["count"] == 1
    assert [p["name"] for p in body["items"]] == ["Alpha Forum"]


def test_it_leaves_out_partnerships_the_caller_has_left(
    alice_api: ApiClient, alice_member: Membership
) -> None:
    alice_member.end_date = timezone.localdate() - timezone.timedelta(days=1)
    alice_member.save()
    assert alice_api.get("/partnerships").json() == {"items": [], "count": 0}


def test_it_pages_the_list(alice: User, alice_api: ApiClient, council: Organisation) -> None:
    for n in range(3):
        assert alice_api.post("/partnerships", _new(council, name=f"Group {n}")).status_code == 201
    page = alice_api.get("/partnerships?limit=2&offset=1").json()
    assert page["count"] == 4
    assert [p["name"] for p in page["items"]] == ["Group 0", "Group 1"]


def test_it_gets_a_partnership(alice_api: ApiClient, partnership_a: Partnership) -> None:
    response = alice_api.get(f"/partnerships/{partnership_a.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "id": partnership_a.pk,
        "name": "Alpha Forum",
        "type": "forum",
        "purpose": "",
        "vision": "",
        "area": "Testshire",
        "parent_id": None,
        "sides": ["Management side", "Staff side"],
    }


def test_it_creates_a_partnership_with_the_caller_as_its_manager(
    carol: User, carol_api: ApiClient, union: Organisation
) -> None:
    response = carol_api.post(
        "/partnerships",
        _new(union, name="  Gamma Group  ", purpose="Join up care", area="Northshire"),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Gamma Group"
    assert body["type"] == "strategic"
    assert body["sides"] == []

    partnership = Partnership.objects.get(pk=body["id"])
    assert partnership.purpose == "Join up care"
    assert partnership.area == "Northshire"
    membership = Membership.objects.get(partnership=partnership)
    assert membership.person == carol
    assert membership.role == Role.MANAGER
    assert membership.organisation == union
    assert membership.decision_maker
    assert membership.start_date == timezone.localdate()

    # The creator can now see and manage it.
    assert carol_api.get(f"/partnerships/{partnership.pk}").status_code == 200
    assert carol_api.patch(f"/partnerships/{partnership.pk}", {"vision": "V"}).status_code == 200


def test_it_gives_a_forum_two_default_sides(alice_api: ApiClient, council: Organisation) -> None:
    response = alice_api.post("/partnerships", _new(council, type="forum"))
    assert response.status_code == 201
    assert response.json()["sides"] == ["Management side", "Staff side"]
    partnership = Partnership.objects.get(pk=response.json()["id"])
    assert partnership.kind == PartnershipType.FORUM
    # The creator sits on the first side, so their membership is valid.
    membership = partnership.memberships.get()
    assert membership.side is not None
    assert membership.side.name == "Management side"
    membership.full_clean()


def test_it_respects_the_sides_it_is_given(alice_api: ApiClient, council: Organisation) -> None:
    sides = ["Employers", " Unions ", "Independent"]
    response = alice_api.post("/partnerships", _new(council, type="forum", sides=sides))
    assert response.status_code == 201
    assert response.json()["sides"] == ["Employers", "Unions", "Independent"]
    partnership = Partnership.objects.get(pk=response.json()["id"])
    assert list(partnership.sides.values_list("name", "order")) == [
        ("Employers", 0),
        ("Unions", 1),
        ("Independent", 2),
    ]


def test_it_makes_a_forum_without_sides_when_asked(
    alice_api: ApiClient, council: Organisation
) -> None:
    response = alice_api.post("/partnerships", _new(council, type="forum", sides=[]))
    assert response.status_code == 201
    assert response.json()["sides"] == []
    assert not Side.objects.filter(partnership_id=response.json()["id"]).exists()


def test_it_refuses_repeated_side_names(alice_api: ApiClient, council: Organisation) -> None:
    response = alice_api.post("/partnerships", _new(council, sides=["Staff", "staff"]))
    body = assert_error(response, 422)
    assert body["errors"][0]["field"] == "sides"
    assert "different name" in body["message"]
    assert not Partnership.objects.filter(name="Gamma Group").exists()


def test_it_creates_a_sub_group_under_a_partnership_of_the_callers(
    alice_api: ApiClient, council: Organisation, partnership_a: Partnership
) -> None:
    response = alice_api.post(
        "/partnerships", _new(council, type="sub_group", parent_id=partnership_a.pk)
    )
    assert response.status_code == 201
    assert response.json()["parent_id"] == partnership_a.pk
    assert Partnership.objects.get(pk=response.json()["id"]).parent == partnership_a


def test_it_refuses_a_parent_the_caller_does_not_belong_to(
    carol_api: ApiClient, charity: Organisation, partnership_a: Partnership
) -> None:
    response = carol_api.post("/partnerships", _new(charity, parent_id=partnership_a.pk))
    body = assert_error(response, 422)
    assert body["errors"] == [
        {"field": "parent_id", "message": "Choose a parent partnership you belong to."}
    ]
    assert "Alpha" not in response.content.decode()
    assert not Partnership.objects.filter(name="Gamma Group").exists()


def test_it_refuses_an_organisation_that_does_not_exist(alice_api: ApiClient) -> None:
    body = assert_error(alice_api.post("/partnerships", _new(Organisation(pk=987654))), 422)
    assert body["errors"][0]["field"] == "organisation_id"
    assert not Partnership.objects.filter(name="Gamma Group").exists()


def test_it_lets_a_manager_patch_a_partnership(
    alice_api: ApiClient, partnership_a: Partnership
) -> None:
    response = alice_api.patch(
        f"/partnerships/{partnership_a.pk}",
        {"name": "Alpha Partnership Forum", "purpose": "Talk", "type": "strategic", "area": ""},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Alpha Partnership Forum"
    assert response.json()["type"] == "strategic"
    partnership_a.refresh_from_db()
    assert partnership_a.name == "Alpha Partnership Forum"
    assert partnership_a.purpose == "Talk"
    assert partnership_a.kind == PartnershipType.STRATEGIC
    assert partnership_a.area == ""


def test_it_leaves_fields_out_of_a_patch_alone(
    alice_api: ApiClient, partnership_a: Partnership
) -> None:
    response = alice_api.patch(f"/partnerships/{partnership_a.pk}", {"vision": "Fair work"})
    assert response.status_code == 200
    partnership_a.refresh_from_db()
    assert partnership_a.vision == "Fair work"
    assert partnership_a.name == "Alpha Forum"
    assert partnership_a.area == "Testshire"
    assert partnership_a.kind == PartnershipType.FORUM


def test_it_adds_and_reorders_sides_but_keeps_sides_with_members(
    alice: User, bob: User, dave: User, alice_api: ApiClient, partnership_a: Partnership
) -> None:
    response = alice_api.patch(
        f"/partnerships/{partnership_a.pk}", {"sides": ["Independent", "Management side"]}
    )
    assert response.status_code == 200
    # Dave sits on the staff side, so it stays.
    assert set(response.json()["sides"]) == {"Independent", "Management side", "Staff side"}
    assert partnership_a.sides.get(name="Independent").order == 0
    assert partnership_a.sides.get(name="Management side").order == 1


def test_it_removes_a_side_nobody_sits_on(alice_api: ApiClient, partnership_a: Partnership) -> None:
    Side.objects.create(partnership=partnership_a, name="Spare side", order=2)
    response = alice_api.patch(
        f"/partnerships/{partnership_a.pk}", {"sides": ["Management side", "Staff side"]}
    )
    assert response.status_code == 200
    assert response.json()["sides"] == ["Management side", "Staff side"]
    assert not partnership_a.sides.filter(name="Spare side").exists()


def test_it_sets_and_clears_a_parent(
    alice_api: ApiClient, council: Organisation, partnership_a: Partnership
) -> None:
    child_id = alice_api.post("/partnerships", _new(council, type="sub_group")).json()["id"]
    response = alice_api.patch(f"/partnerships/{child_id}", {"parent_id": partnership_a.pk})
    assert response.status_code == 200
    assert Partnership.objects.get(pk=child_id).parent_id == partnership_a.pk

    response = alice_api.patch(f"/partnerships/{child_id}", {"parent_id": None})
    assert response.status_code == 200
    assert Partnership.objects.get(pk=child_id).parent_id is None


def test_it_refuses_to_make_a_partnership_its_own_parent(
    alice_api: ApiClient, partnership_a: Partnership
) -> None:
    response = alice_api.patch(f"/partnerships/{partnership_a.pk}", {"parent_id": partnership_a.pk})
    assert assert_error(response, 422)["errors"][0]["field"] == "parent_id"
    partnership_a.refresh_from_db()
    assert partnership_a.parent_id is None


def test_it_refuses_a_loop_of_parents(
    alice_api: ApiClient, council: Organisation, partnership_a: Partnership
) -> None:
    child = alice_api.post("/partnerships", _new(council, parent_id=partnership_a.pk)).json()
    grandchild = alice_api.post("/partnerships", _new(council, parent_id=child["id"])).json()
    response = alice_api.patch(f"/partnerships/{partnership_a.pk}", {"parent_id": grandchild["id"]})
    assert assert_error(response, 422)["errors"][0]["field"] == "parent_id"
    partnership_a.refresh_from_db()
    assert partnership_a.parent_id is None


@pytest.mark.parametrize("client_name", ["bob_api", "dave_api"])
def test_it_refuses_a_patch_from_a_member_who_does_not_manage(
    client_name: str, request: pytest.FixtureRequest, partnership_a: Partnership
) -> None:
    api: ApiClient = request.getfixturevalue(client_name)
    response = api.patch(f"/partnerships/{partnership_a.pk}", {"name": "Taken over"})
    assert "managers" in assert_error(response, 403)["message"]
    partnership_a.refresh_from_db()
    assert partnership_a.name == "Alpha Forum"


def test_it_lets_a_chair_patch_a_partnership(
    dave: User, dave_member: Membership, dave_api: ApiClient, partnership_a: Partnership
) -> None:
    dave_member.role = Role.CHAIR
    dave_member.save()
    response = dave_api.patch(f"/partnerships/{partnership_a.pk}", {"purpose": "Chaired"})
    assert response.status_code == 200
    partnership_a.refresh_from_db()
    assert partnership_a.purpose == "Chaired"
