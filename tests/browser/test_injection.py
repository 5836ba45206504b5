"""Stored markup in a real browser: a member's priority carrying an htmx load trigger
must not make the manager's browser send anything when the ballot opens.

Reported attack: a plain member proposed a priority whose description held
``<i hx-post="/members/<id>/edit/" hx-trigger="load" hx-vals='{"role": "manager"}'>``;
when the manager opened the ballot, htmx posted it with the manager's CSRF token
and the member became a manager.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import _open_page
from tests.browser.helpers import FORUM, check_page, sign_in

pytestmark = pytest.mark.browser

MEMBER_EMAIL = "member@example.org"
MEMBER_NAME = "Sam Okafor"
VOTE = "Vote with a booby-trapped priority"
OTHER = "Brighter lights on the footpath to the station"


@pytest.fixture
def member_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


def _attack(edit_path: str) -> str:
    # Every field the member edit form needs, so the post would succeed if it were sent.
    return (
        f'<i hx-post="{edit_path}" hx-trigger="load" '
        """hx-vals='{"role": "manager", "organisation": "1", "start_date": "2024-01-01"}'>"""
        "</i>"
    )


def _role_in_forum(page: Page, person_path: str) -> str:
    page.goto(person_path)
    card = page.locator(".govuk-summary-card").filter(
        has=page.get_by_role("heading", name=FORUM, exact=True)
    )
    return card.locator(".govuk-summary-list__row", has_text="Role").locator("dd").inner_text()


def test_a_priority_with_an_htmx_trigger_sends_nothing_from_the_ballot(
    page: Page, member_page: Page
) -> None:
    heading = page.get_by_role("heading", level=1)
    sign_in(page)
    forum_path = urlsplit(
        page.get_by_role("main").get_by_role("link", name=FORUM, exact=True).get_attribute("href")
        or ""
    ).path
    page.goto(forum_path + "members/")
    person_path = page.get_by_role("link", name=MEMBER_NAME, exact=True).first.get_attribute("href")
    assert person_path
    page.goto(person_path)
    edit_path = page.get_by_role("link", name=f"Change membership of {FORUM}").get_attribute("href")
    assert edit_path and re.fullmatch(r"/members/\d+/edit/", edit_path)
    assert _role_in_forum(page, person_path) == "Member"

    # The member proposes the booby-trapped priority, as anyone in the partnership can.
    sign_in(member_page, MEMBER_EMAIL)
    member_page.goto(forum_path + "priorities/new/")
    title = f"Fix the car park {_attack(edit_path)}"
    member_page.get_by_label("Priority", exact=True).fill(title)
    member_page.get_by_label("Why it matters (optional)").fill(_attack(edit_path))
    member_page.get_by_role("button", name="Propose it").click()
    expect(member_page.get_by_role("alert")).to_contain_text("is proposed")
    # A vote needs two candidates at least.
    member_page.goto(forum_path + "priorities/new/")
    member_page.get_by_label("Priority", exact=True).fill(OTHER)
    member_page.get_by_role("button", name="Propose it").click()
    expect(member_page.get_by_role("alert")).to_contain_text("is proposed")

    # The manager puts it to a vote and opens the ballot.
    page.goto(forum_path + "priorities/votes/new/")
    page.get_by_label("Title").fill(VOTE)
    page.get_by_label(title, exact=True).check()
    page.get_by_label(OTHER, exact=True).check()
    page.get_by_label("Closes at the end of").fill(page.get_by_label("Opens on").input_value())
    page.get_by_role("button", name="Open the vote").click()
    expect(heading).to_have_text(VOTE)
    vote_url = page.url

    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if request.method != "GET" else None)
    page.goto(vote_url)
    # htmx acts on "load" as soon as it has read the page; give it time to misbehave.
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)

    assert [f"{r.method} {r.url}" for r in sent] == []
    expect(page.locator("#main-content")).to_contain_text(title)
    assert page.locator("[hx-post]").count() == 0
    check_page(page, "injection-01-ballot")
    assert _role_in_forum(page, person_path) == "Member"
