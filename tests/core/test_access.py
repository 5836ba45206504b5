"""Every URL that takes an object id answers 404 to a member of another partnership."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from partnerwell.api.models import AccessToken
from partnerwell.core.models import MemberImport, Membership, Partnership, TermsOfReference, User
from tests.url_walk import all_routes

# The URL keyword each object id fills, and how to find partnership A's object for it.
ID_KWARGS = {
    "partnership_id",
    "membership_id",
    "person_id",
    "import_id",
    "version",
    "organisation_id",
    "token_id",
}


def _object_routes() -> list[tuple[str, str]]:
    routes = []
    for route, pattern in all_routes():
        if route.startswith(("admin/", "api/v1/")):
            continue  # the admin has its own staff check; the API is walked in tests/api
        if (pattern.name or "").startswith("meetings-"):
            continue  # walked, with its POST-only pages, in tests/meetings/test_meetings_access.py
        names = set(re.findall(r"<(?:\w+:)?(\w+)>", route))
        if names & ID_KWARGS:
            routes.append((route, pattern.name or route))
    return routes


@pytest.fixture
def a_objects(alice: User, bob: User, partnership_a: Partnership) -> dict[str, int]:
    terms = TermsOfReference.objects.create(
        partnership=partnership_a,
        version=1,
        text="x",
        adopted_on="2025-01-01",
        next_review_on="2026-01-01",
    )
    pending = MemberImport.objects.create(
        partnership=partnership_a, created_by=alice, filename="a.csv", rows=[]
    )
    token, _ = AccessToken.issue(user=alice, name="alice's script")
    membership = Membership.objects.get(person=bob)
    return {
        "partnership_id": partnership_a.pk,
        "membership_id": membership.pk,
        "person_id": bob.pk,
        "import_id": pending.pk,
        "version": terms.version,
        "organisation_id": membership.organisation_id,
        "token_id": token.pk,
    }


def _fill(route: str, values: dict[str, int]) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    return "/" + path


def test_it_finds_the_object_routes() -> None:
    # Guards the walker itself: if it found nothing, the test below would prove nothing.
    names = {name for _, name in _object_routes()}
    assert {
        "core-view-partnership",
        "core-edit-member",
        "core-view-person",
        "core-confirm-import",
        "api-revoke-token",
    } <= names


@pytest.mark.parametrize(("route", "name"), _object_routes())
def test_it_hides_other_partnerships_objects(
    route: str, name: str, a_objects: dict[str, int], carol: User, carol_client: Client
) -> None:
    url = _fill(route, a_objects)
    response = (
        carol_client.post(url)
        if "confirm" in name or "revoke" in name or "end" in name
        else carol_client.get(url)
    )
    if name.startswith("core-") and "organisation" in name:
        # Organisations are an instance-wide directory, but never reveal partnership A.
        assert response.status_code in (200, 302)
        assert b"Alpha Forum" not in response.content
        assert b"Bob Member" not in response.content
    else:
        assert response.status_code == 404, f"{url} answered {response.status_code}"


@pytest.mark.parametrize(("route", "name"), _object_routes())
def test_it_sends_anonymous_visitors_to_sign_in(
    route: str, name: str, a_objects: dict[str, int], client: Client
) -> None:
    url = _fill(route, a_objects)
    response = (
        client.post(url)
        if "confirm" in name or "revoke" in name or "end" in name
        else client.get(url)
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
