"""API clients for the shared cast: each person calls the API with their own token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from partnerwell.api.api import api
from partnerwell.api.models import AccessToken
from partnerwell.core.models import Membership, Organisation, Partnership, Side, User

API = "/api/v1"
WRITE_METHODS = {"post", "put", "patch", "delete"}


def api_operations() -> list[tuple[str, str, str]]:
    """(method, path below /api/v1, operation id) for every operation the API routes."""
    found = []
    for path, item in api.get_openapi_schema()["paths"].items():
        for method, operation in item.items():
            found.append((method, path.removeprefix(API), operation["operationId"]))
    return sorted(found)


class ApiClient:
    """Sends JSON to the API with a bearer token (or none) and reads JSON back."""

    def __init__(self, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = Client(headers=headers)

    def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> HttpResponse:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.generic(
            method.upper(), API + path, data=data, content_type="application/json"
        )

    def get(self, path: str) -> HttpResponse:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> HttpResponse:
        return self.call("POST", path, body)

    def patch(self, path: str, body: Any = None) -> HttpResponse:
        return self.call("PATCH", path, body)


def api_client_for(user: User) -> ApiClient:
    _, plain = AccessToken.issue(user=user, name=f"{user.name}'s script")
    return ApiClient(plain)


def assert_error(response: HttpResponse, status: int | None = None) -> dict[str, Any]:
    """A refusal: a 4xx (or the given status) with a JSON body holding a message."""
    if status is not None:
        assert response.status_code == status, response.content[:500]
    assert 400 <= response.status_code < 500, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert isinstance(body, dict)
    assert isinstance(body.get("message"), str)
    assert body["message"].strip()
    return body


def db_state() -> tuple[object, ...]:
    """Everything a refused request might have changed, to compare before and after."""
    return (
        list(
            Partnership.objects.order_by("pk").values_list(
                "pk", "name", "purpose", "kind", "area", "parent_id"
            )
        ),
        list(Organisation.objects.order_by("pk").values_list("pk", "name", "sector", "website")),
        list(
            Membership.objects.order_by("pk").values_list(
                "pk",
                "person_id",
                "organisation_id",
                "role",
                "side_id",
                "deputy_for_id",
                "decision_maker",
                "responsibilities",
                "start_date",
                "end_date",
            )
        ),
        list(Side.objects.order_by("pk").values_list("pk", "partnership_id", "name", "order")),
        list(User.objects.order_by("pk").values_list("pk", "email", "name")),
    )


@pytest.fixture
def alice_api(alice: User) -> ApiClient:
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob: User) -> ApiClient:
    return api_client_for(bob)


@pytest.fixture
def carol_api(carol: User) -> ApiClient:
    return api_client_for(carol)


@pytest.fixture
def dave_api(dave: User) -> ApiClient:
    return api_client_for(dave)


@pytest.fixture
def anon_api(db: None) -> ApiClient:
    return ApiClient()


@pytest.fixture
def alice_member(alice: User) -> Membership:
    return Membership.objects.get(person=alice)


@pytest.fixture
def bob_member(bob: User) -> Membership:
    return Membership.objects.get(person=bob)


@pytest.fixture
def dave_member(dave: User) -> Membership:
    return Membership.objects.get(person=dave)


@pytest.fixture
def carol_member(carol: User) -> Membership:
    return Membership.objects.get(person=carol)
