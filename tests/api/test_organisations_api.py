"""The organisations API: an instance-wide directory that managers keep."""

from __future__ import annotations

from partnerwell.core.models import Organisation, Sector, User
from tests.api.conftest import ApiClient, assert_error


def test_it_lists_the_whole_directory_to_anyone_signed_in(
    carol_api: ApiClient, council: Organisation, union: Organisation, charity: Organisation
) -> None:
    body = carol_api.get("/organisations").json()
    assert body["count"] == 3
    assert [o["name"] for o in body["items"]] == [
        "Testshire Carers",
        "Testshire Council",
        "Testshire UNISON",
    ]


def test_it_searches_the_directory_by_name(
    alice_api: ApiClient, council: Organisation, union: Organisation
) -> None:
    body = alice_api.get("/organisations?q=unison").json()
    assert [o["id"] for o in body["items"]] == [union.pk]
    assert alice_api.get("/organisations?q=nothing-like-it").json()["count"] == 0


def test_it_gets_an_organisation(alice_api: ApiClient, council: Organisation) -> None:
    response = alice_api.get(f"/organisations/{council.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "id": council.pk,
        "name": "Testshire Council",
        "sector": "local_authority",
        "sector_label": "Local authority",
        "website": "",
    }


def test_it_lets_a_manager_add_an_organisation(alice_api: ApiClient) -> None:
    response = alice_api.post(
        "/organisations",
        {"name": " Testshire Police ", "sector": "police", "website": "https://police.example"},
    )
    assert response.status_code == 201
    assert response.json()["sector_label"] == "Police and community safety"
    organisation = Organisation.objects.get(pk=response.json()["id"])
    assert organisation.name == "Testshire Police"
    assert organisation.sector == Sector.POLICE
    assert organisation.website == "https://police.example"


def test_it_refuses_an_organisation_from_someone_who_manages_nothing(
    bob_api: ApiClient,
) -> None:
    response = bob_api.post("/organisations", {"name": "Bob's Org", "sector": "other"})
    assert "managers" in assert_error(response, 403)["message"]
    assert not Organisation.objects.filter(name="Bob's Org").exists()


def test_it_refuses_a_name_already_in_the_directory(
    alice_api: ApiClient, council: Organisation
) -> None:
    response = alice_api.post("/organisations", {"name": "TESTSHIRE council", "sector": "other"})
    body = assert_error(response, 422)
    assert body["errors"][0]["field"] == "name"
    assert "already in the directory" in body["message"]
    assert Organisation.objects.count() == 1


def test_it_lets_a_manager_change_an_organisation_on_their_partnership(
    alice_api: ApiClient, council: Organisation
) -> None:
    response = alice_api.patch(
        f"/organisations/{council.pk}", {"website": "https://council.example", "sector": "other"}
    )
    assert response.status_code == 200
    council.refresh_from_db()
    assert council.website == "https://council.example"
    assert council.sector == Sector.OTHER
    assert council.name == "Testshire Council"


def test_it_refuses_a_change_from_a_manager_of_another_partnership(
    carol_api: ApiClient, council: Organisation, alice: User
) -> None:
    # The council sits only on partnership A; carol manages only B.
    response = carol_api.patch(f"/organisations/{council.pk}", {"name": "Hijacked"})
    assert_error(response, 403)
    council.refresh_from_db()
    assert council.name == "Testshire Council"


def test_it_lets_a_manager_change_an_organisation_on_no_partnership(
    carol_api: ApiClient,
) -> None:
    loose = Organisation.objects.create(name="Loose Ltd", sector=Sector.BUSINESS)
    response = carol_api.patch(f"/organisations/{loose.pk}", {"name": "Loose Limited"})
    assert response.status_code == 200
    loose.refresh_from_db()
    assert loose.name == "Loose Limited"


def test_it_refuses_a_change_from_a_member_who_does_not_manage(
    bob_api: ApiClient, council: Organisation
) -> None:
    response = bob_api.patch(f"/organisations/{council.pk}", {"website": "https://bob.example"})
    assert_error(response, 403)
    council.refresh_from_db()
    assert council.website == ""


def test_it_refuses_a_rename_onto_another_organisations_name(
    alice_api: ApiClient, council: Organisation, union: Organisation
) -> None:
    response = alice_api.patch(f"/organisations/{council.pk}", {"name": "testshire unison"})
    assert assert_error(response, 422)["errors"][0]["field"] == "name"
    council.refresh_from_db()
    assert council.name == "Testshire Council"


def test_it_keeps_an_organisations_own_name_on_a_change_of_case(
    alice_api: ApiClient, council: Organisation
) -> None:
    response = alice_api.patch(f"/organisations/{council.pk}", {"name": "TESTSHIRE COUNCIL"})
    assert response.status_code == 200
    council.refresh_from_db()
    assert council.name == "TESTSHIRE COUNCIL"


def test_it_refuses_a_website_that_is_not_a_url(
    alice_api: ApiClient, council: Organisation
) -> None:
    response = alice_api.patch(f"/organisations/{council.pk}", {"website": "not a url"})
    assert assert_error(response, 422)["errors"][0]["field"] == "website"
    council.refresh_from_db()
    assert council.website == ""
