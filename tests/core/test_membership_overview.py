from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from partnerwell.core.models import Membership, Organisation, Partnership, Role, Sector, User


def test_it_groups_members_and_shows_sector_coverage(
    alice_client: Client, alice: User, bob: User, dave: User, partnership_a: Partnership
) -> None:
    response = alice_client.get(f"/partnerships/{partnership_a.pk}/members/")
    assert response.status_code == 200
    overview = response.context
    represented = {s["value"] for s in overview["sectors_represented"]}
    missing = {s["value"] for s in overview["sectors_missing"]}
    assert represented == {Sector.LOCAL_AUTHORITY, Sector.TRADE_UNION}
    assert missing == set(Sector.values) - represented
    groups = {
        g["organisation"].name: [m.person.name for m in g["members"]]
        for g in overview["by_organisation"]
    }
    assert groups == {
        "Testshire Council": ["Alice Manager", "Bob Member"],
        "Testshire UNISON": ["Dave Staffside"],
    }
    assert [m.person.name for m in overview["decision_makers"]] == ["Alice Manager"]


def test_it_lists_deputies_and_ended_terms(
    alice_client: Client, alice: User, bob: User, dave: User, partnership_a: Partnership
) -> None:
    bob_membership = Membership.objects.get(person=bob)
    deputy = User.objects.create_user(email="deputy@example.org", name="Dee Puty")
    Membership.objects.create(
        partnership=partnership_a,
        person=deputy,
        organisation=bob_membership.organisation,
        role=Role.DEPUTY,
        deputy_for=bob_membership,
        side=bob_membership.side,
    )
    Membership.objects.filter(person=dave).update(end_date=dt.date(2025, 3, 1))
    response = alice_client.get(f"/partnerships/{partnership_a.pk}/members/")
    assert [m.person.name for m in response.context["deputies"]] == ["Dee Puty"]
    assert [m.person.name for m in response.context["ended"]] == ["Dave Staffside"]
    # With Dave gone, the trade union sector is no longer represented.
    assert Sector.TRADE_UNION in {s["value"] for s in response.context["sectors_missing"]}
    assert b"Dee Puty" in response.content and b"deputises for Bob Member" in response.content


def test_it_costs_the_same_queries_whatever_the_size(
    alice_client: Client,
    alice: User,
    partnership_a: Partnership,
    django_assert_max_num_queries: Any,
) -> None:
    side = partnership_a.sides.first()
    for i in range(60):
        org = Organisation.objects.create(name=f"Org {i}", sector=Sector.values[i % 15])
        person = User.objects.create_user(email=f"p{i}@example.org", name=f"Person {i}")
        Membership.objects.create(
            partnership=partnership_a,
            person=person,
            organisation=org,
            side=side,
            responsibilities=["x"],
        )
    with django_assert_max_num_queries(12):
        response = alice_client.get(f"/partnerships/{partnership_a.pk}/members/")
    assert response.status_code == 200
    assert len(response.context["by_organisation"]) == 61
