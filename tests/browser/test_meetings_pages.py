"""Every other meetings page in a real browser, each checked with axe-core.

The cycle itself is in test_meetings.py; this walks the pages it does not reach
(the builder, the rules, the calendar page, replies, triage, minutes versions,
the review pages) on the demo's forum, and answers a meeting review through its
link without signing in, as people do from the QR code at the end of a meeting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import _open_page
from tests.browser.helpers import FORUM, check_page, server_today, sign_in

pytestmark = pytest.mark.browser

REVIEWED = "Short forum on car parking"


@pytest.fixture
def visitor_page(browser: Browser, server: str) -> Iterator[Page]:
    """A browser that never signs in."""
    yield from _open_page(browser, server)


@pytest.fixture
def member_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


def _visit(page: Page, link: str, heading: str, name: str) -> None:
    """Follow a link by its name, check the page's heading, then screenshot and axe."""
    page.get_by_role("main").get_by_role("link", name=link).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    check_page(page, name)


def _go(page: Page, path: str, heading: str, name: str) -> None:
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    check_page(page, name)


def _meetings(page: Page) -> tuple[str, str, str]:
    """The forum's meetings page, its next meeting and its latest past meeting (paths)."""
    sign_in(page)
    page.get_by_role("main").get_by_role("link", name=FORUM).click()
    forum = urlparse(page.url).path.rstrip("/")
    page.goto(forum + "/meetings/")
    tables = page.get_by_role("main").locator("table")
    # The demo's own meetings: other tests add meetings of other names for today.
    demo = re.compile(r"^Partnership forum, ")
    coming = tables.nth(0).get_by_role("link", name=demo).first.get_attribute("href")
    past = tables.nth(1).get_by_role("link", name=demo).first.get_attribute("href")
    assert coming and past
    return forum, coming.rstrip("/"), past.rstrip("/")


def test_every_meetings_page_passes_axe(page: Page, member_page: Page) -> None:
    forum, coming, past = _meetings(page)

    # The partnership's meeting pages.
    _go(page, forum + "/meetings/rules/", "Meeting rules and quorum", "pages-01-rules")
    _go(page, forum + "/calendar/", "calendar", "pages-02-calendar")
    _go(page, forum + "/forward-plan/", "Forward plan", "pages-03-forward-plan")
    _visit(page, "Submit an item to the forward plan", "forward plan", "pages-04-plan-item")
    _go(page, forum + "/meeting-reviews/", "Meeting reviews", "pages-05-review-trend")
    _go(page, forum + "/decisions/", "Decision log", "pages-06-decisions")
    page.get_by_role("main").locator("table").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("D20")
    check_page(page, "pages-07-decision")

    # The next meeting: its page, the builder, triage of the waiting item, changing it.
    _go(page, coming + "/", "Partnership forum", "pages-08-coming")
    _visit(page, "Order the agenda", "Order the agenda", "pages-09-builder")
    page.goto(coming + "/")
    _visit(page, "Triage", "Triage", "pages-10-triage")
    page.goto(coming + "/")
    _visit(page, "Change the meeting", "Change the meeting", "pages-11-edit-meeting")
    page.goto(coming + "/")
    _visit(page, "Cancel the meeting", "Cancel the meeting", "pages-12-cancel-form")

    # A member answers whether they will attend, sending a named deputy.
    sign_in(member_page, "member@example.org")
    member_page.goto(coming + "/")
    _visit(member_page, "Say whether you will attend", "Will you attend", "pages-13-reply")
    member_page.get_by_label("Sending a deputy").check()
    member_page.get_by_label("Name of your deputy").fill("Alex Moran")
    member_page.get_by_role("button", name="Send your reply").click()
    expect(member_page.get_by_role("main")).to_contain_text("Alex Moran")
    check_page(member_page, "pages-14-replied")

    # The last meeting: papers, minutes and their versions, the review results.
    _go(page, past + "/", "Partnership forum", "pages-15-past")
    _go(page, past + "/papers/status/", "Papers pack", "pages-16-pack-status")
    _go(page, past + "/minutes/", "Minutes", "pages-17-edit-minutes")
    _visit(page, "Every version", "Versions of the minutes", "pages-18-versions")
    page.goto(past + "/minutes/")
    _visit(page, "Read this version", "Minutes", "pages-19-read-minutes")
    _go(page, past + "/review/", "Review", "pages-20-review-results")
    expect(page.get_by_role("main")).to_contain_text("Out of 100")


def test_a_review_is_answered_from_its_link_without_signing_in(
    page: Page, visitor_page: Page
) -> None:
    forum, _, _ = _meetings(page)
    heading = page.get_by_role("heading", level=1)
    # A meeting that started at midnight today, so its review can be opened now.
    page.goto(forum + "/meetings/new/")
    page.get_by_label("Title").fill(REVIEWED)
    page.get_by_label("Workshop", exact=True).check()
    page.get_by_label("Date").fill(server_today().isoformat())
    page.get_by_label("Start time").fill("00:00")
    page.get_by_label("End time").fill("23:59")
    page.get_by_role("button", name="Save the meeting").click()
    expect(heading).to_have_text(REVIEWED)
    meeting = page.url
    # No register was taken, so nobody gets a personal link: the room's shared link, knowingly.
    page.get_by_label("Also take answers through one shared link and QR code for the room").check()
    page.get_by_role("button", name="Open the review").click()
    link = page.locator("#review-link").input_value()
    check_page(page, "review-01-open")
    page.get_by_role("main").get_by_role("link", name="Print the QR code").click()
    check_page(page, "review-02-print")

    # Someone in the room follows the link (its address is the configured SITE_URL's).
    visitor_page.goto(urlparse(link).path)
    expect(visitor_page.get_by_role("heading", level=1)).to_contain_text(f"How did {REVIEWED} go")
    check_page(visitor_page, "review-03-respond")
    for group in visitor_page.get_by_role("group").all()[:3]:
        group.get_by_role("radio").nth(3).check()
    visitor_page.get_by_label("Anything else about this meeting?").fill("Short and to the point.")
    visitor_page.get_by_role("button", name="Send my answers").click()
    expect(visitor_page.get_by_role("main")).to_contain_text("Thank you")
    check_page(visitor_page, "review-04-done")

    # Results wait for the review to close, and one answer stays below the floor.
    page.goto(meeting)
    page.get_by_role("button", name="Close the review").click()
    expect(page.get_by_role("main")).to_contain_text("Too few answers")
    check_page(page, "review-05-closed")
