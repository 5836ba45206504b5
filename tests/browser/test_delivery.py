"""Delivery in a real browser against the real server.

The demo manager turns the weakest principle of the forum's finished 2026 health
check into an action, records progress and marks it done, and sees the dashboard
and the accountability table move; then the manager opens a priority vote on
Northmoor Partnership, three members vote, and the ranking follows their points.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import _open_page
from tests.browser.helpers import FORUM, check_page, server_today, sign_in

pytestmark = pytest.mark.browser

ROUND = "Forum health check 2026"
STRATEGIC = "Northmoor Partnership"
OWNER = "Gareth Lloyd"  # chair@example.org, a co-chair of the forum
OWNER_ORGANISATION = "Northmoor Community Health NHS Trust"
BANDS = ("Concern", "Developing", "Strength")  # weakest first
FIRST_NOTE = "Met the communications leads; a plan goes to the next forum."
DONE_NOTE = "The plan was agreed and is in place."

VOTE = "Priorities for the year ahead"
# Each voter's points for the three candidates; the totals (15, 8, 7) give a certain order.
CANDIDATES = (
    "Open school halls to community groups at weekends",
    "Share one volunteer database across partners",
    "Plant trees along the county's cycle routes",
)
BALLOTS = {
    "member@example.org": (5, 3, 2),
    "chair@example.org": (4, 4, 2),
    "manager@example.org": (6, 1, 3),
}


def _long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


@pytest.fixture
def member_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


@pytest.fixture
def chair_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


def _overdue_on_dashboard(page: Page) -> int:
    """The number of overdue actions in the partnership page's delivery panel."""
    card = page.locator(".govuk-summary-card").filter(
        has=page.get_by_role("heading", name="Actions", exact=True)
    )
    text = card.locator(".govuk-summary-card__content").inner_text()
    if "No action is overdue." in text:
        return 0
    match = re.search(r"(\d+)\s+actions? overdue", text)
    assert match, f"No overdue count in the Actions card on {page.url}: {text!r}"
    return int(match.group(1))


def _accountability(page: Page) -> dict[str, dict[str, str]]:
    """The table of who delivers on time: each row's cells by column, by organisation."""
    table = page.get_by_role("table", name=re.compile(r"^Actions due from"))
    headers = table.locator("thead th").all_inner_texts()
    rows: list[list[str]] = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return {row[0]: dict(zip(headers[1:], row[1:], strict=True)) for row in rows}


def _counts(table: dict[str, dict[str, str]], organisation: str) -> dict[str, int]:
    row = table[organisation]
    return {k: int(row[k]) for k in ("Due", "Done", "Done on time", "Overdue now")}


def _weakest_principle(page: Page) -> tuple[Locator, str, str, str]:
    """The row, title, score and band of the principle in the lowest band, lowest score first."""
    rows = page.locator("table").filter(has_text="Principles in").locator("tbody tr")
    found: list[tuple[int, int, int, str, str, str]] = []
    for number, cells in enumerate(
        rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    ):
        title = cells[0].removesuffix("Disputed").strip()
        score, band = cells[1], cells[2]
        if band in BANDS and score.isdigit():
            found.append((BANDS.index(band), int(score), number, title, score, band))
    assert found, f"No principle with a score and band on {page.url}"
    _, _, number, title, score, band = min(found)
    return rows.nth(number), title, score, band


def test_an_action_from_a_health_check_to_done(page: Page) -> None:
    heading = page.get_by_role("heading", level=1)
    main = page.get_by_role("main")
    sign_in(page)
    main.get_by_role("link", name=FORUM).click()
    expect(heading).to_have_text(FORUM)
    forum_url = page.url
    overdue_before = _overdue_on_dashboard(page)
    check_page(page, "delivery-01-partnership")

    delivery = page.get_by_role("navigation", name="Delivery")
    delivery.get_by_role("link", name="Who delivers on time").click()
    expect(heading).to_have_text("Who delivers on time")
    before = _accountability(page)
    check_page(page, "delivery-02-accountability-before")

    # The weakest principle of the finished round, from its results page.
    page.goto(forum_url.rstrip("/") + "/health-checks/")
    page.get_by_role("link", name=f"Results of {ROUND}").click()
    expect(heading).to_have_text(f"Results: {ROUND}")
    row, principle, score, band = _weakest_principle(page)
    check_page(page, "delivery-03-results")
    # The hidden ": <principle>" tells screen-reader users which row the link is in.
    turn_into_action = re.compile(rf"^Turn into an action\s*: {re.escape(principle)}$")
    row.get_by_role("link", name=turn_into_action).click()

    expect(heading).to_have_text("Add an action")
    expect(main.locator(".govuk-inset-text")).to_have_text(
        f"This action answers: Health check “{ROUND}”, {principle}"
    )
    title = f"Act on the health check: {principle}"
    expect(page.get_by_label("Action", exact=True)).to_have_value(title)
    expect(page.get_by_label("Detail (optional)")).to_have_value(
        f"From the health check “{ROUND}”, on {principle}. "
        f"Members scored {principle} {score} out of 100 ({band.lower()})."
    )
    check_page(page, "delivery-04-action-form")
    # Due three days ago, so it is overdue as soon as it is added.
    due = server_today() - dt.timedelta(days=3)
    page.get_by_label("Owner").select_option(label=f"{OWNER} ({OWNER_ORGANISATION})")
    page.get_by_label("Due date").fill(due.isoformat())
    expect(page.get_by_label("Agreed")).to_be_checked()
    page.get_by_role("button", name="Add the action").click()

    expect(heading).to_have_text(title)
    expect(page.get_by_role("alert")).to_contain_text(
        f"The action has been added and {OWNER} owns it."
    )
    status = main.locator("h1 + p .govuk-tag")
    expect(status).to_have_text(["Agreed", "Overdue"])
    expect(main.locator(".govuk-warning-text")).to_contain_text(
        f"This action was due on {_long_date(due)}."
    )
    check_page(page, "delivery-05-action")
    action_url = page.url

    # A progress note, written up late, that records when the work started.
    started = due - dt.timedelta(days=2)
    page.get_by_label("Progress note").fill(FIRST_NOTE)
    page.get_by_label("Status").select_option(label="In progress")
    page.get_by_label("Date", exact=True).fill(started.isoformat())
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_role("alert")).to_contain_text("The progress note has been added")
    timeline = main.locator(".pw-timeline")
    expect(timeline).to_contain_text(FIRST_NOTE)
    expect(timeline).to_contain_text("Moved to in progress.")
    expect(status).to_have_text(["In progress", "Overdue"])
    check_page(page, "delivery-06-action-in-progress")

    # The overdue action shows on the dashboard and in the table.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=FORUM).click()
    expect(heading).to_have_text(FORUM)
    assert _overdue_on_dashboard(page) == overdue_before + 1
    check_page(page, "delivery-07-partnership-overdue")
    delivery.get_by_role("link", name="Who delivers on time").click()
    open_overdue = _accountability(page)
    was, now = _counts(before, OWNER_ORGANISATION), _counts(open_overdue, OWNER_ORGANISATION)
    added = {**was, "Due": was["Due"] + 1, "Overdue now": was["Overdue now"] + 1}
    assert now == added, f"{OWNER_ORGANISATION} went from {was} to {now}"
    check_page(page, "delivery-08-accountability-overdue")

    # The log's overdue filter finds it.
    page.get_by_role("link", name="See the overdue actions").click()
    expect(heading).to_have_text("Actions")
    expect(page.get_by_label("Due", exact=True)).to_have_value("overdue")
    listed = page.get_by_role("row").filter(has=page.get_by_role("link", name=title))
    expect(listed).to_contain_text("Overdue")
    expect(listed).to_contain_text(OWNER)
    expect(listed).to_contain_text("From: health check")
    check_page(page, "delivery-09-log-overdue")
    listed.get_by_role("link", name=title).click()
    expect(page).to_have_url(action_url)

    # Done on the day it was due: on time.
    page.get_by_label("Progress note").fill(DONE_NOTE)
    page.get_by_label("Status").select_option(label="Done")
    page.get_by_label("Date", exact=True).fill(due.isoformat())
    page.get_by_role("button", name="Add the note").click()
    expect(page.get_by_role("alert")).to_contain_text("The progress note has been added")
    expect(status).to_have_text(["Done"])
    expect(main.locator(".govuk-warning-text")).to_have_count(0)
    summary = main.locator(".govuk-summary-list")
    expect(summary.locator(".govuk-summary-list__row", has_text="Done on")).to_contain_text(
        f"{_long_date(due)} (on time)"
    )
    came_from = summary.locator(".govuk-summary-list__row", has_text="Came from")
    expect(came_from.get_by_role("link")).to_have_text(f"Health check “{ROUND}”, {principle}")
    # Newest first.
    expect(timeline.get_by_role("listitem")).to_have_text(
        [
            f"{_long_date(due)}, Priya Shah Moved to done. {DONE_NOTE}",
            f"{_long_date(started)}, Priya Shah Moved to in progress. {FIRST_NOTE}",
        ]
    )
    expect(page.get_by_role("heading", name=f"{principle} in the health checks")).to_be_visible()
    source_row = page.get_by_role("row", name=re.compile(f"^{ROUND}"))
    expect(source_row.get_by_role("cell")).to_have_text([score, band])
    check_page(page, "delivery-10-action-done")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=FORUM).click()
    assert _overdue_on_dashboard(page) == overdue_before
    check_page(page, "delivery-11-partnership-after")
    delivery.get_by_role("link", name="Who delivers on time").click()
    after = _counts(_accountability(page), OWNER_ORGANISATION)
    done = {
        "Due": now["Due"],
        "Done": now["Done"] + 1,
        "Done on time": now["Done on time"] + 1,
        "Overdue now": now["Overdue now"] - 1,
    }
    assert after == done, f"{OWNER_ORGANISATION} went from {now} to {after}"
    check_page(page, "delivery-12-accountability-after")


def _vote(page: Page, vote_url: str, email: str, name: str, *, check_first: bool = False) -> None:
    """Cast the member's BALLOTS points, signing in unless it is the manager's page.

    With check_first, "Check my points" first catches a point missing, and stores nothing.
    """
    points = dict(zip(CANDIDATES, BALLOTS[email], strict=True))
    if email != "manager@example.org":
        sign_in(page, email)
    page.goto(vote_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(VOTE)
    expect(page.locator("#points-status")).to_contain_text("You have 10 points to spread")
    check_page(page, f"{name}-01-ballot")
    for candidate, given in points.items():
        page.get_by_label(candidate).fill(str(given))
    if check_first:
        first, second = CANDIDATES[:2]
        page.get_by_label(first).fill(str(points[first] - 1))
        page.get_by_role("button", name="Check my points").click()
        expect(page.locator("#points-status")).to_have_text(
            "You have given 9 of the 10 points: 1 left to give."
        )
        expect(page.get_by_label(second)).to_have_value(str(points[second]))
        check_page(page, f"{name}-02-points-checked")
        page.get_by_label(first).fill(str(points[first]))
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_role("alert")).to_contain_text("Thank you: your vote is counted.")
    expect(page.get_by_role("main")).to_contain_text("You have voted.")
    check_page(page, f"{name}-03-voted")


def test_a_priority_vote_ranks_by_points(page: Page, member_page: Page, chair_page: Page) -> None:
    heading = page.get_by_role("heading", level=1)
    main = page.get_by_role("main")
    sign_in(page)
    main.get_by_role("link", name=STRATEGIC, exact=True).click()
    expect(heading).to_have_text(STRATEGIC)
    page.get_by_role("navigation", name="Delivery").get_by_role("link", name="Priorities").click()
    expect(heading).to_have_text("Priorities")
    votes = page.get_by_role("table", name="Priority votes")
    expect(votes).to_contain_text("Rate importance and feasibility")  # the demo's open vote
    check_page(page, "vote-01-priorities")
    priorities_url = page.url

    for number, candidate in enumerate(CANDIDATES):
        page.get_by_role("link", name="Propose a priority").click()
        expect(heading).to_have_text("Propose a priority")
        if number == 0:
            check_page(page, "vote-02-priority-form")
        page.get_by_label("Priority", exact=True).fill(candidate)
        page.get_by_role("button", name="Propose it").click()
        expect(page.get_by_role("alert")).to_contain_text(f"“{candidate}” is proposed")
    proposed = page.get_by_role("table", name="Proposed priorities")
    for candidate in CANDIDATES:
        expect(proposed.get_by_role("row", name=candidate)).to_contain_text("Priya Shah")
    check_page(page, "vote-03-priorities-proposed")

    # A points vote on the three, closing at the end of today.
    page.get_by_role("link", name="Set up a vote").click()
    expect(heading).to_have_text("Set up a priority vote")
    check_page(page, "vote-04-vote-form")
    page.get_by_label("Title").fill(VOTE)
    expect(page.get_by_label("Spread 10 points")).to_be_checked()
    for candidate in CANDIDATES:
        page.get_by_label(candidate).check()
    today = page.get_by_label("Opens on").input_value()
    page.get_by_label("Closes at the end of").fill(today)
    page.get_by_role("button", name="Open the vote").click()

    expect(heading).to_have_text(VOTE)
    expect(page.get_by_role("alert")).to_contain_text("The vote is set up.")
    check_page(page, "vote-05-vote")
    vote_url = page.url

    _vote(member_page, vote_url, "member@example.org", "vote-member", check_first=True)
    _vote(chair_page, vote_url, "chair@example.org", "vote-chair")
    _vote(page, vote_url, "manager@example.org", "vote-manager")
    # Nothing is shown until the vote closes, not even to the manager.
    expect(main).to_contain_text(re.compile(r"3 of \d+ members have voted"))
    expect(main).to_contain_text("The results appear when the vote closes")
    expect(page.get_by_role("table")).to_have_count(0)

    page.get_by_role("button", name="Close the vote now").click()
    expect(page.get_by_role("alert")).to_contain_text("The vote is closed. The results are below.")
    ranking = page.get_by_role("table", name="Ranking from 3 ballots")
    totals = [sum(points) for points in zip(*BALLOTS.values(), strict=True)]
    assert len(set(totals)) == len(totals), "Equal totals would share a rank"
    expected = sorted(zip(CANDIDATES, totals, strict=True), key=lambda ct: -ct[1])
    ranked = ranking.locator("tbody tr")
    expect(ranked).to_have_count(len(CANDIDATES))
    for rank, (candidate, total) in enumerate(expected, start=1):
        row = ranked.nth(rank - 1)
        expect(row.get_by_role("rowheader")).to_have_text(candidate)
        expect(row.locator("td").nth(0)).to_have_text(str(rank))
        expect(row.locator("td").nth(1)).to_have_text(str(total))
    check_page(page, "vote-06-results")

    # Everyone sees the same results; the list shows the vote closed with 3 votes.
    member_page.goto(vote_url)
    expect(member_page.get_by_role("table", name="Ranking from 3 ballots")).to_be_visible()
    check_page(member_page, "vote-07-member-results")
    page.goto(priorities_url)
    row = votes.get_by_role("row", name=VOTE)
    expect(row).to_contain_text("Spread 10 points")
    expect(row).to_contain_text("Closed")
    expect(row.get_by_role("cell").last).to_have_text("3")
    check_page(page, "vote-08-priorities-after")
