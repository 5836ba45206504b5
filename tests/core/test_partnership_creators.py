"""Who may start a partnership is the instance's choice (PARTNERSHIP_CREATORS).

Before, anyone signed in could create a partnership, become its manager and so
import people; now administrators decide, and managers may add sub-groups only
under partnerships they manage.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from tests.conftest import allow_creating_partnerships, client_for
from tests.core.test_import_members import plain

REFUSAL = "Only the site's administrators and the people they allow can create partnerships"


def _new(org: Organisation, **extra: object) -> dict[str, object]:
    return {
        "name": "Gamma Group",
        "kind": "strategic",
        "sides_choice": "none",
        "organisation": org.pk,
        **extra,
    }


def test_it_refuses_a_plain_signed_in_person(
    bob_client: Client, council: Organisation, partnership_a: Partnership
) -> None:
    listing = bob_client.get("/")
    assert "Create a partnership" not in plain(listing)
    assert "/partnerships/new/" not in listing.content.decode()
    page = bob_client.get("/partnerships/new/")
    assert page.status_code == 403
    assert REFUSAL in plain(page)
    response = bob_client.post("/partnerships/new/", _new(council))
    assert response.status_code == 403
    assert not Partnership.objects.filter(name="Gamma Group").exists()


def test_it_lets_anyone_create_when_the_instance_says_so(
    bob: User, bob_client: Client, council: Organisation, settings: Any
) -> None:
    settings.PARTNERSHIP_CREATORS = "anyone"
    assert "Create a partnership" in plain(bob_client.get("/"))
    response = bob_client.post("/partnerships/new/", _new(council))
    assert response.status_code == 302
    partnership = Partnership.objects.get(name="Gamma Group")
    # The creator is its manager, and nothing more: one membership, on this partnership.
    assert list(partnership.memberships.values_list("person", "role")) == [(bob.pk, Role.MANAGER)]
    assert Membership.objects.filter(person=bob).count() == 2


@pytest.mark.parametrize("how", ["permission", "staff", "superuser"])
def test_it_lets_administrators_and_area_coordinators_create(
    council: Organisation, how: str
) -> None:
    person = User.objects.create_user(email="coord@example.org", name="Area Coordinator")
    if how == "permission":
        allow_creating_partnerships(person)
    else:
        setattr(person, f"is_{how}", True)
        person.save()
    client = client_for(person)
    assert "Create a partnership" in plain(client.get("/"))
    assert client.post("/partnerships/new/", _new(council)).status_code == 302
    membership = Membership.objects.get(partnership__name="Gamma Group")
    assert (membership.person, membership.role) == (person, Role.MANAGER)


def test_it_lets_a_manager_add_a_sub_group_only_under_their_partnership(
    alice_client: Client,
    partnership_a: Partnership,
    partnership_b: Partnership,
    carol: User,
    council: Organisation,
) -> None:
    # alice manages A but holds no right to start partnerships of her own.
    page = alice_client.get("/partnerships/new/")
    assert page.status_code == 200
    assert "You can add a sub-group under a partnership you manage" in plain(page)
    response = alice_client.post("/partnerships/new/", _new(council))
    assert response.status_code == 200
    assert "Choose the partnership you manage" in plain(response)
    response = alice_client.post("/partnerships/new/", _new(council, parent=partnership_b.pk))
    assert response.status_code == 200
    assert not Partnership.objects.filter(name="Gamma Group").exists()
    response = alice_client.post("/partnerships/new/", _new(council, parent=partnership_a.pk))
    assert response.status_code == 302
    assert Partnership.objects.get(name="Gamma Group").parent == partnership_a


def test_it_does_not_move_a_partnership_under_one_the_editor_only_sits_on(
    alice_client: Client, alice: User, partnership_a: Partnership, council: Organisation
) -> None:
    other = Partnership.objects.create(name="Other Board", kind="strategic")
    Membership.objects.create(partnership=other, person=alice, organisation=council)
    page = alice_client.get(f"/partnerships/{partnership_a.pk}/edit/")
    assert other not in page.context["form"].fields["parent"].queryset
    response = alice_client.post(
        f"/partnerships/{partnership_a.pk}/edit/",
        {
            "name": "Alpha Forum",
            "kind": "forum",
            "sides_choice": "management_staff",
            "parent": other.pk,
        },
    )
    assert response.status_code == 200
    partnership_a.refresh_from_db()
    assert partnership_a.parent is None
