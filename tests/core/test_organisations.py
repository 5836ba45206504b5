from __future__ import annotations

from django.test import Client

from partnerwell.core.models import Organisation, Partnership, Sector, User


def test_it_adds_an_organisation(alice_client: Client) -> None:
    response = alice_client.post(
        "/organisations/new/",
        {"name": "Testshire Fire", "sector": Sector.FIRE, "website": "fire.example.org"},
    )
    organisation = Organisation.objects.get(name="Testshire Fire")
    assert response.status_code == 302
    assert organisation.sector == Sector.FIRE
    assert organisation.website == "https://fire.example.org"


def test_it_returns_to_the_page_that_asked(alice_client: Client) -> None:
    response = alice_client.post(
        "/organisations/new/?next=/partnerships/1/members/add/",
        {"name": "Testshire Fire", "sector": Sector.FIRE},
    )
    assert response["Location"] == "/partnerships/1/members/add/"
    response = alice_client.post(
        "/organisations/new/?next=//evil.example.org/", {"name": "Other", "sector": Sector.FIRE}
    )
    assert response["Location"] != "//evil.example.org/"


def test_it_refuses_a_duplicate_name_in_any_case(
    alice_client: Client, council: Organisation
) -> None:
    response = alice_client.post(
        "/organisations/new/", {"name": "testshire COUNCIL", "sector": Sector.HOUSING}
    )
    assert response.status_code == 200
    assert b"already in the directory" in response.content
    assert Organisation.objects.count() == 1


def test_it_lets_only_managers_add_organisations(bob_client: Client) -> None:
    response = bob_client.post("/organisations/new/", {"name": "Sneaky", "sector": Sector.OTHER})
    assert response.status_code == 302
    assert not Organisation.objects.filter(name="Sneaky").exists()


def test_it_lets_managers_of_its_partnerships_edit_it(
    alice_client: Client, carol_client: Client, council: Organisation, alice: User, carol: User
) -> None:
    response = carol_client.post(
        f"/organisations/{council.pk}/edit/", {"name": "Renamed", "sector": Sector.OTHER}
    )
    council.refresh_from_db()
    assert council.name == "Testshire Council"
    response = alice_client.post(
        f"/organisations/{council.pk}/edit/", {"name": "Renamed", "sector": Sector.OTHER}
    )
    assert response.status_code == 302
    council.refresh_from_db()
    assert council.name == "Renamed"


def test_it_shows_only_my_partnerships_on_an_organisation(
    alice_client: Client,
    alice: User,
    carol: User,
    partnership_b: Partnership,
    council: Organisation,
) -> None:
    carol.memberships.update(organisation=council)
    response = alice_client.get(f"/organisations/{council.pk}/")
    assert b"Alpha Forum" in response.content
    assert b"Beta Board" not in response.content


def test_it_filters_the_directory(
    alice_client: Client, council: Organisation, union: Organisation
) -> None:
    response = alice_client.get("/organisations/", {"sector": Sector.TRADE_UNION})
    assert [o.name for o in response.context["organisations"]] == ["Testshire UNISON"]
    response = alice_client.get("/organisations/", {"q": "council", "sector": "nonsense"})
    assert [o.name for o in response.context["organisations"]] == ["Testshire Council"]
