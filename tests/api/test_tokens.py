"""The API tokens page (create, list, revoke) and how the API authenticates a request."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.api.models import AccessToken
from partnerwell.core.models import User
from tests.api.conftest import ApiClient, assert_error

TOKEN_RE = re.compile(r"pw_[A-Za-z0-9_-]{20,}")


def _issue(user: User, name: str = "report script") -> tuple[AccessToken, str]:
    return AccessToken.issue(user=user, name=name)


# The tokens page -------------------------------------------------------------


def test_it_shows_a_new_token_once_and_stores_only_its_hash(
    alice: User, alice_client: Client
) -> None:
    response = alice_client.post(reverse("api-create-token"), {"name": "monthly report"})
    assert response.status_code == 200
    shown = TOKEN_RE.findall(response.content.decode())
    assert len(set(shown)) == 1
    plain = shown[0]

    token = AccessToken.objects.get(user=alice)
    assert token.name == "monthly report"
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.hint == plain[:10]
    stored = [str(getattr(token, f.attname)) for f in AccessToken._meta.concrete_fields]
    assert not any(plain in value for value in stored)

    # The token works straight away, as alice.
    api_response = ApiClient(plain).get("/partnerships")
    assert api_response.status_code == 200
    assert [p["name"] for p in api_response.json()["items"]] == ["Alpha Forum"]


def test_it_never_shows_a_plain_token_on_the_list(alice: User, alice_client: Client) -> None:
    token, plain = _issue(alice, "nightly export")
    response = alice_client.get(reverse("api-list-tokens"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "nightly export" in page
    assert token.hint in page
    assert plain not in page
    assert plain[10:20] not in page
    assert not TOKEN_RE.search(page)


def test_it_lists_only_the_persons_own_tokens(
    alice: User, carol: User, alice_client: Client
) -> None:
    _issue(alice, "weekly export")
    carols, _ = _issue(carol, "secret sync")
    page = alice_client.get(reverse("api-list-tokens")).content.decode()
    assert "weekly export" in page
    assert "secret sync" not in page
    assert carols.hint not in page
    assert reverse("api-revoke-token", args=[carols.pk]) not in page


def test_it_refuses_a_token_without_a_name(alice: User, alice_client: Client) -> None:
    response = alice_client.post(reverse("api-create-token"), {"name": "   "})
    assert response.status_code == 200
    assert b"govuk-error-summary" in response.content
    assert not TOKEN_RE.search(response.content.decode())
    assert not AccessToken.objects.filter(user=alice).exists()


def test_it_refuses_get_on_create(alice: User, alice_client: Client) -> None:
    response = alice_client.get(reverse("api-create-token"))
    assert response.status_code == 405
    assert not AccessToken.objects.exists()


def test_it_revokes_a_token(alice: User, alice_client: Client) -> None:
    token, plain = _issue(alice)
    kept, kept_plain = _issue(alice, "kept")
    assert ApiClient(plain).get("/partnerships").status_code == 200

    response = alice_client.post(reverse("api-revoke-token", args=[token.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("api-list-tokens")
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert AccessToken.objects.filter(pk=kept.pk).exists()

    page = alice_client.get(response["Location"]).content.decode()
    assert "report script" in page  # the confirmation names the revoked token
    assert "no longer works" in page
    assert_error(ApiClient(plain).get("/partnerships"), 401)
    assert ApiClient(kept_plain).get("/partnerships").status_code == 200


def test_it_refuses_get_on_revoke(alice: User, alice_client: Client) -> None:
    token, _ = _issue(alice)
    response = alice_client.get(reverse("api-revoke-token", args=[token.pk]))
    assert response.status_code == 405
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_it_refuses_to_revoke_another_persons_token(alice: User, carol_client: Client) -> None:
    token, plain = _issue(alice)
    response = carol_client.post(reverse("api-revoke-token", args=[token.pk]))
    assert response.status_code == 404
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert ApiClient(plain).get("/partnerships").status_code == 200


def test_it_answers_404_for_a_token_that_does_not_exist(alice_client: Client) -> None:
    response = alice_client.post(reverse("api-revoke-token", args=[987654]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "api-list-tokens"), ("post", "api-create-token"), ("post", "api-revoke-token")],
)
def test_it_sends_anonymous_visitors_to_sign_in(
    alice: User, client: Client, method: str, name: str
) -> None:
    token, _ = _issue(alice)
    url = reverse(name, args=[token.pk]) if "revoke" in name else reverse(name)
    response = getattr(client, method)(url, {"name": "sneaky"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [token.pk]


# Authenticating API requests -------------------------------------------------


def _assert_401(response: HttpResponse) -> None:
    body = assert_error(response, 401)
    assert "token" in body["message"].lower()


def test_it_refuses_a_request_without_credentials(alice: User, anon_api: ApiClient) -> None:
    _assert_401(anon_api.get("/partnerships"))
    _assert_401(anon_api.post("/organisations", {"name": "X", "sector": "other"}))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer pw_not-a-real-token",
        "Bearer not-even-the-prefix",
        "Bearer ",
        "Bearer",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Token pw_abc",
        "Bearer pw_" + "x" * 5000,
        "Bearer pw_é✓",
    ],
)
def test_it_refuses_a_bad_token(alice: User, header: str) -> None:
    _issue(alice)
    client = Client(headers={"Authorization": header})
    _assert_401(client.get("/api/v1/partnerships"))
    assert AccessToken.objects.get().last_used_at is None


def test_it_refuses_a_revoked_token(alice: User) -> None:
    token, plain = _issue(alice)
    token.delete()
    _assert_401(ApiClient(plain).get("/partnerships"))


def test_it_refuses_the_token_of_a_deactivated_person(alice: User) -> None:
    _, plain = _issue(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    _assert_401(ApiClient(plain).get("/partnerships"))


def test_it_refuses_a_near_miss_of_a_real_token(alice: User) -> None:
    _, plain = _issue(alice)
    _assert_401(ApiClient(plain[:-1]).get("/partnerships"))
    _assert_401(ApiClient(plain + "x").get("/partnerships"))
    _assert_401(ApiClient(plain.upper()).get("/partnerships"))


def test_it_accepts_a_good_token_and_records_its_use(alice: User) -> None:
    token, plain = _issue(alice)
    assert token.last_used_at is None
    before = timezone.now()
    response = ApiClient(plain).get("/partnerships")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_it_records_use_at_most_once_a_minute(alice: User) -> None:
    token, plain = _issue(alice)
    recent = timezone.now() - dt.timedelta(seconds=10)
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    assert ApiClient(plain).get("/partnerships").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == recent

    stale = timezone.now() - dt.timedelta(minutes=5)
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    assert ApiClient(plain).get("/partnerships").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at > stale + dt.timedelta(minutes=4)


def test_it_acts_as_the_tokens_owner(alice: User, carol: User) -> None:
    _, alices = _issue(alice)
    _, carols = _issue(carol)
    alice_sees = ApiClient(alices).get("/partnerships").json()["items"]
    carol_sees = ApiClient(carols).get("/partnerships").json()["items"]
    assert [p["name"] for p in alice_sees] == ["Alpha Forum"]
    assert [p["name"] for p in carol_sees] == ["Beta Board"]


def test_it_accepts_a_signed_in_session(alice_client: Client) -> None:
    response = alice_client.get("/api/v1/partnerships")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["items"]] == ["Alpha Forum"]


def test_it_checks_csrf_for_session_writes(alice: User, council: object) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    body = {"name": "New Org", "sector": "other"}
    response = client.post("/api/v1/organisations", body, content_type="application/json")
    message = assert_error(response, 403)["message"]
    assert "CSRF" in message
    assert "X-CSRFToken" in message

    client.get(reverse("api-list-tokens"))  # sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/organisations",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 201


def test_it_needs_no_csrf_token_with_a_bearer_token(alice: User, council: object) -> None:
    _, plain = _issue(alice)
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {plain}"})
    response = client.post(
        "/api/v1/organisations",
        json.dumps({"name": "Token Org", "sector": "other"}),
        content_type="application/json",
    )
    assert response.status_code == 201


def test_it_tells_a_program_without_a_token_to_send_one_not_a_csrf_token(
    alice: User,
) -> None:
    # A real HTTP client (CSRF enforced) that forgot its token, or sent a revoked one.
    token, plain = _issue(alice)
    token.delete()
    for headers in ({}, {"Authorization": f"Bearer {plain}"}):
        client = Client(enforce_csrf_checks=True, headers=headers)
        response = client.post(
            "/api/v1/organisations",
            {"name": "X", "sector": "other"},
            content_type="application/json",
        )
        _assert_401(response)
