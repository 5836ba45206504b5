"""The two pages where stored text became markup: the ballot and the anonymous answer page."""

from __future__ import annotations

import datetime as dt

import pytest
import tinyhtml5
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partnerwell.core.markdown import render_markdown
from partnerwell.core.models import Membership, Organisation, Partnership, User
from partnerwell.delivery import priorities as services
from partnerwell.delivery.models import Priority
from tests.api.conftest import api_client_for
from tests.healthcheck.builders import invite, make_round, outline_framework, statement_keys
from tests.security.markers import FULL, MARK, check_html


def _attack(membership: Membership) -> str:
    # The description that made a manager's browser promote the member who wrote it.
    return (
        f'<i hx-post="/members/{membership.pk}/edit/" hx-trigger="load" '
        f'hx-vals=\'{{"role":"manager"}}\'></i>Fix the car park'
    )


def _hx_post_elements(html: bytes) -> list[str]:
    tree = tinyhtml5.parse(html)
    return [str(e.tag) for e in tree.iter() if any("hx-post" in str(a) for a in e.attrib)]


@pytest.mark.parametrize("method", ["points", "rating"])
def test_it_shows_a_priority_on_the_ballot_as_text(
    method: str, partnership_a: Partnership, alice: User, bob: User, alice_client: Client
) -> None:
    bob_membership = Membership.objects.get(person=bob)
    evil = Priority.objects.create(
        partnership=partnership_a,
        title=FULL,
        description=_attack(bob_membership),
        proposed_by=bob_membership,
    )
    other = Priority.objects.create(partnership=partnership_a, title="Housing")
    vote = services.vote_open(
        partnership=partnership_a,
        by=alice,
        title="Our priorities for 2027",
        method=method,
        candidates=[evil, other],
        opens_at=timezone.now() - dt.timedelta(hours=1),
        closes_at=timezone.now() + dt.timedelta(days=7),
        anonymity_floor=3,
    )

    page = alice_client.get(reverse("delivery-view-vote", args=[vote.pk]))

    assert page.status_code == 200
    assert _hx_post_elements(page.content) == []
    findings = check_html(page.content, "ballot")
    assert findings.problems == []
    assert findings.shows_template_syntax
    if method == "points":
        # The description is the hint under the points box, shown as the words typed.
        assert "hx-post=&quot;/members/" in page.content.decode()


def test_it_shows_a_custom_statement_as_text_in_the_question_and_the_error(
    partnership_a: Partnership, alice: User, dave: User
) -> None:
    framework = outline_framework(partnership_a, outline=f"# Part\n## Principle\n- {FULL}\n")
    (key,) = statement_keys(framework).values()
    link = invite(make_round(partnership_a, framework), dave.memberships.get())
    url = reverse("healthcheck-respond-step", args=[link.token, 1])
    client = Client()

    question = client.get(url)
    unanswered = client.post(url, {key: ""})

    assert question.status_code == 200
    assert unanswered.status_code == 200
    assert "Choose an answer for" in unanswered.content.decode()
    for name, page in (("question", question), ("error", unanswered)):
        findings = check_html(page.content, name)
        assert findings.problems == []
        assert findings.shows_template_syntax, f"the statement is missing from the {name} page"
    # The error names the statement twice (summary and message), the question once more.
    assert unanswered.content.decode().count("&lt;script&gt;pwmark()") >= 3
    assert MARK in question.content.decode()


def test_it_strips_htmx_handlers_and_script_links_from_markdown() -> None:
    text = (
        f"{FULL}\n\n"
        '<a href="/members/1/edit/" hx-post="/members/1/edit/" hx-trigger="load" '
        'data-pwmark="a" onclick="pwmark()">x</a>\n\n'
        "[click](javascript:pwmark()) and [fine](https://example.org/)"
    )

    html = render_markdown(text)

    findings = check_html(html, "markdown")
    assert findings.problems == []
    assert "hx-" not in html and "data-" not in html and "onclick" not in html
    assert '<a href="https://example.org/"' in html


def test_it_refuses_a_script_address_as_a_website_through_the_api(alice: User) -> None:
    response = api_client_for(alice).post(
        "/organisations",
        {"name": "Scripted", "sector": "voluntary", "website": "javascript:pwmark()"},
    )

    assert 400 <= response.status_code < 500
    assert not Organisation.objects.filter(name="Scripted").exists()
