from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from partnerwell.core.markdown import render_markdown
from partnerwell.core.models import Partnership, TermsOfReference, User


def _post(client: Client, partnership: Partnership, text: str, adopted: str, review: str):
    return client.post(
        f"/partnerships/{partnership.pk}/terms/new/",
        {"text": text, "adopted_on": adopted, "next_review_on": review},
    )


def test_it_saves_versions(alice_client: Client, alice: User, partnership_a: Partnership) -> None:
    assert (
        _post(
            alice_client, partnership_a, "## Purpose\nFirst", "2025-01-01", "2026-01-01"
        ).status_code
        == 302
    )
    assert (
        _post(
            alice_client, partnership_a, "## Purpose\nSecond", "2025-06-01", "2026-06-01"
        ).status_code
        == 302
    )
    versions = list(partnership_a.terms_versions.order_by("version"))
    assert [(v.version, v.created_by) for v in versions] == [(1, alice), (2, alice)]
    latest = alice_client.get(f"/partnerships/{partnership_a.pk}/terms/")
    assert b"Second" in latest.content
    first = alice_client.get(f"/partnerships/{partnership_a.pk}/terms/1/")
    assert b"First" in first.content and b"not the current one" in first.content


def test_it_refuses_a_review_before_adoption(
    alice_client: Client, partnership_a: Partnership
) -> None:
    response = _post(alice_client, partnership_a, "text", "2025-06-01", "2025-01-01")
    assert response.status_code == 200
    assert b"The next review must come after the date adopted" in response.content
    assert not TermsOfReference.objects.exists()


def test_it_refuses_terms_from_a_plain_member(
    bob_client: Client, partnership_a: Partnership
) -> None:
    response = _post(bob_client, partnership_a, "text", "2025-01-01", "2026-01-01")
    assert response.status_code == 403
    assert not TermsOfReference.objects.exists()


def test_it_strips_scripts_from_markdown() -> None:
    html = render_markdown(
        "Hello <script>alert(1)</script> [click](javascript:alert(2)) "
        '<img src=x onerror="alert(3)"> **bold** [ok](https://example.org)'
    )
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html


def test_it_shows_an_overdue_review_on_the_partnership_page(
    bob_client: Client, bob: User, partnership_a: Partnership
) -> None:
    today = timezone.localdate()
    TermsOfReference.objects.create(
        partnership=partnership_a,
        version=1,
        text="x",
        adopted_on=today - dt.timedelta(days=400),
        next_review_on=today - dt.timedelta(days=1),
    )
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/")
    assert b"were due for review" in response.content
    TermsOfReference.objects.update(next_review_on=today + dt.timedelta(days=10))
    response = bob_client.get(f"/partnerships/{partnership_a.pk}/")
    assert b"were due for review" not in response.content
