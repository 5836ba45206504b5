"""Personal responses carry `Cache-Control: no-store`; static files keep their long cache."""

from __future__ import annotations

import pytest
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import calendar as cal
from tests.api.conftest import api_client_for
from tests.healthcheck.builders import invite, make_round, outline_framework


def _cache_control(response: object) -> str:
    return str(response.get("Cache-Control", ""))  # type: ignore[attr-defined]


def test_it_marks_a_signed_in_page_no_store(
    alice_client: Client, partnership_a: Partnership
) -> None:
    response = alice_client.get(reverse("core-view-partnership", args=[partnership_a.pk]))
    assert response.status_code == 200
    assert _cache_control(response) == "no-store"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_marks_the_member_export_no_store(
    alice_client: Client, bob: User, partnership_a: Partnership, fmt: str
) -> None:
    response = alice_client.get(reverse(f"core-export-members-{fmt}", args=[partnership_a.pk]))
    assert response.status_code == 200
    assert _cache_control(response) == "no-store"


def test_it_marks_an_api_answer_to_a_token_no_store(alice: User) -> None:
    response = api_client_for(alice).get("/partnerships")
    assert response.status_code == 200
    assert _cache_control(response) == "no-store"


def test_it_marks_the_anonymous_answer_page_no_store(
    client: Client, partnership_a: Partnership, dave: User
) -> None:
    round = make_round(partnership_a, outline_framework(partnership_a))
    invitation = invite(round, dave.memberships.get())
    response = client.get(reverse("healthcheck-respond", args=[invitation.token]))
    assert response.status_code == 200
    assert _cache_control(response) == "no-store"


def test_it_marks_a_calendar_feed_no_store(client: Client, bob: User) -> None:
    token = cal.personal_token(bob).token
    response = client.get(reverse("meetings-view-personal-feed", args=[token]))
    assert response.status_code == 200
    assert _cache_control(response) == "no-store"


def test_it_keeps_the_long_cache_on_the_stylesheet(alice_client: Client) -> None:
    # Signed in, so only WhiteNoise answering first keeps no-store off static files.
    response = alice_client.get(static("dist/app.css"))
    assert response.status_code == 200
    assert "no-store" not in _cache_control(response)
    assert "max-age=" in _cache_control(response)
