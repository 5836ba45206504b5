from __future__ import annotations

import pytest
from django.test import Client

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from tests.conftest import allow_creating_partnerships


@pytest.fixture(autouse=True)
def _creators_may_create(request: pytest.FixtureRequest) -> None:
    # Creating a partnership needs the right (PARTNERSHIP_CREATORS=administrators):
    # the people these tests create with hold it, as an area coordinator would.
    for name in ("alice",):
        if name in request.fixturenames:
            allow_creating_partnerships(request.getfixturevalue(name))


def test_it_lists_only_my_partnerships(
    alice_client: Client, partnership_a: Partnership, partnership_b: Partnership, carol: User
) -> None:
    response = alice_client.get("/")
    assert response.status_code == 200
    assert b"Alpha Forum" in response.content
    assert b"Beta Board" not in response.content


def test_it_creates_a_partnership_with_me_as_manager(
    alice_client: Client, alice: User, council: Organisation
) -> None:
    response = alice_client.post(
        "/partnerships/new/",
        {
            "name": "Gamma Group",
            "kind": "sub_group",
            "area": "Testshire",
            "purpose": "Fix things",
            "vision": "",
            "sides_choice": "none",
            "organisation": council.pk,
        },
    )
    partnership = Partnership.objects.get(name="Gamma Group")
    assert response.status_code == 302
    assert response["Location"] == f"/partnerships/{partnership.pk}/"
    membership = Membership.objects.get(partnership=partnership)
    assert membership.person == alice
    assert membership.role == Role.MANAGER
    assert list(partnership.sides.all()) == []


def test_it_creates_a_forum_with_two_sides(alice_client: Client, council: Organisation) -> None:
    alice_client.post(
        "/partnerships/new/",
        {
            "name": "Delta Forum",
            "kind": "forum",
            "sides_choice": "management_staff",
            "organisation": council.pk,
        },
    )
    partnership = Partnership.objects.get(name="Delta Forum")
    assert [s.name for s in partnership.sides.all()] == ["Management side", "Staff side"]
    # The creator sits on the first side so the membership is valid.
    assert Membership.objects.get(partnership=partnership).side is not None


def test_it_explains_bad_custom_sides(alice_client: Client, council: Organisation) -> None:
    response = alice_client.post(
        "/partnerships/new/",
        {
            "name": "Odd",
            "kind": "other",
            "sides_choice": "custom",
            "custom_sides": "Only one",
            "organisation": council.pk,
        },
    )
    assert response.status_code == 200
    assert b"Name at least two sides" in response.content
    assert not Partnership.objects.filter(name="Odd").exists()


def test_it_refuses_a_partnership_without_a_name(
    alice_client: Client, council: Organisation
) -> None:
    response = alice_client.post(
        "/partnerships/new/", {"kind": "other", "sides_choice": "none", "organisation": council.pk}
    )
    assert response.status_code == 200
    assert b"There is a problem" in response.content
    assert Partnership.objects.count() == 1  # only Alpha Forum from the fixtures


def test_it_shows_the_partnership_to_members(
    bob_client: Client, partnership_a: Partnership
) -> None:
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/")
    assert response.status_code == 200
    assert b"Alpha Forum" in response.content
    # A plain member sees no management links.
    assert b"Change the partnership" not in response.content


def test_it_edits_the_partnership(alice_client: Client, partnership_a: Partnership) -> None:
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {
            "name": "Alpha Forum Renamed",
            "kind": "forum",
            "area": "Testshire",
            "purpose": "New purpose",
            "vision": "New vision",
            "sides_choice": "management_staff",
        },
    )
    assert response.status_code == 302
    partnership_a.refresh_from_db()
    assert partnership_a.name == "Alpha Forum Renamed"
    assert partnership_a.purpose == "New purpose"


def test_it_keeps_sides_that_members_sit_on(
    alice_client: Client, alice: User, partnership_a: Partnership
) -> None:
    alice_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {"name": "Alpha Forum", "kind": "forum", "sides_choice": "none"},
    )
    # Alice sits on the management side, so it stays; the empty staff side goes.
    assert [s.name for s in partnership_a.sides.all()] == ["Management side"]


def test_it_refuses_edits_by_a_plain_member(bob_client: Client, partnership_a: Partnership) -> None:
    response = bob_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {"name": "Hijacked", "kind": "forum", "sides_choice": "none"},
    )
    assert response.status_code == 403
    partnership_a.refresh_from_db()
    assert partnership_a.name == "Alpha Forum"


def test_it_hides_the_edit_page_from_other_partnerships(
    carol_client: Client, partnership_a: Partnership
) -> None:
    response = carol_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {"name": "Hijacked", "kind": "forum", "sides_choice": "none"},
    )
    assert response.status_code == 404
    partnership_a.refresh_from_db()
    assert partnership_a.name == "Alpha Forum"


def test_it_only_offers_parents_i_belong_to(
    alice_client: Client, partnership_a: Partnership, partnership_b: Partnership, carol: User
) -> None:
    response = alice_client.get("/partnerships/new/")
    assert b"Alpha Forum" in response.content
    assert b"Beta Board" not in response.content


@pytest.mark.parametrize("path", ["/", "/partnerships/new/", "/organisations/", "/account/"])
def test_it_asks_anonymous_visitors_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_side_names_that_are_too_long(
    alice_client: Client, council: Organisation
) -> None:
    response = alice_client.post(
        "/partnerships/new/",
        {
            "name": "Long sides",
            "kind": "other",
            "sides_choice": "custom",
            "custom_sides": "A" * 101 + ", B",
            "organisation": council.pk,
        },
    )
    assert response.status_code == 200
    assert b"100 characters or fewer" in response.content
    assert not Partnership.objects.filter(name="Long sides").exists()


def test_it_refuses_to_put_a_partnership_under_its_own_sub_group(
    alice_client: Client, alice: User, partnership_a: Partnership, council: Organisation
) -> None:
    child = Partnership.objects.create(name="Child", kind="sub_group", parent=partnership_a)
    Membership.objects.create(
        partnership=child, person=alice, organisation=council, role=Role.MANAGER
    )
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {
            "name": "Alpha Forum",
            "kind": "forum",
            "sides_choice": "management_staff",
            "parent": child.pk,
        },
    )
    assert response.status_code == 200
    partnership_a.refresh_from_db()
    assert partnership_a.parent is None


def test_it_counts_members_organisations_and_decision_makers(
    bob_client: Client, alice: User, bob: User, dave: User, partnership_a: Partnership
) -> None:
    Membership.objects.filter(person=dave).update(decision_maker=True)
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/")
    context = response.context
    # Alice and Bob for the council, Dave for the union; Alice and Dave decide on the spot.
    assert (
        context["member_count"],
        context["organisation_count"],
        context["decision_maker_count"],
    ) == (3, 2, 2)
