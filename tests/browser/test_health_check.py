"""A health check from opening to results, in a real browser against the real server.

The demo manager opens a round on the partnership forum for four chosen members;
they answer through the links in their emails (one on a phone, one with JavaScript
off); the manager sees the results, a disputed statement and the hidden small groups,
and a side gap on the demo's finished 2026 round.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import _open_page
from tests.browser.helpers import FORUM, check_page, page_overflow, screenshot, sign_in

pytestmark = pytest.mark.browser

ROUND = "Pulse before the away day"
# Two from each side: with the anonymity floor of 3 neither side can be shown.
MANAGEMENT = ("Chloe Morris", "Daniel Foster")
STAFF = ("Farid Young", "Harry Turner")

ACTION = "Our discussions turn into action."
IMPACT = "We can show the difference the partnership is making."
OVERALL = "All things considered, how well is the partnership working at the moment?"
AGREED = (
    "I am clear about why this partnership exists.",
    "We have agreed priorities for what the partnership will do.",
    "I know how I can make a difference through this partnership.",
    "My views, and my organisation's, are listened to and taken seriously.",
    "Our meetings add value and are a good use of my time.",
    "I am satisfied with how the partnership is performing at present.",
    IMPACT,
)
COMMENT = "Papers for the away day should go out a week before."


def _answers(action: str, impact: str = "Agree") -> dict[str, str]:
    """Everyone agrees on everything but ACTION, which splits the four in two camps."""
    answers = dict.fromkeys(AGREED, "Agree")
    answers[IMPACT] = impact
    answers[ACTION] = action
    answers[OVERALL] = "7"
    return answers


@pytest.fixture
def member_page(browser: Browser, server: str) -> Iterator[Page]:
    """A desktop browser of members, who answer without signing in."""
    yield from _open_page(browser, server)


@pytest.fixture
def no_script_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server, java_script_enabled=False)


def _email_of(name: str) -> str:
    return name.lower().replace(" ", ".").replace("'", "") + "@example.org"


def _invitations(mail_dir: Path) -> dict[str, str]:
    """The path of the personal link in each invitation to ROUND, by recipient."""
    links: dict[str, str] = {}
    for path in sorted(mail_dir.glob("*.log")):
        # The file backend ends every message with a line of 79 dashes.
        for raw in path.read_text().split("-" * 79 + "\n"):
            message = email.message_from_string(raw.strip(), policy=email.policy.default)
            if not str(message["Subject"] or "").endswith(f": {ROUND}"):
                continue
            assert isinstance(message, EmailMessage)
            match = re.search(r"https?://[^/\s]+(/r/[^/\s]+/)", message.get_content())
            assert match, f"No personal link in the email to {message['To']}"
            links[str(message["To"])] = match.group(1)
    return links


def _answer_part(page: Page, answers: dict[str, str]) -> None:
    for statement, answer in answers.items():
        question = page.get_by_role("group", name=statement)
        question.get_by_label(answer, exact=True).check()


def _respond(
    page: Page,
    link: str,
    answers: dict[str, str],
    name: str,
    *,
    comment: str = "",
    leave_out: str = "",
    scripts: bool = True,
) -> None:
    """Answer the one-part Member pulse through a personal link, checking every page.

    With leave_out, the part is first sent without that answer, to see the error.
    """
    phone = page.viewport_size is not None and page.viewport_size["width"] < 500

    def visit(step: str) -> None:
        if phone:
            assert page_overflow(page) == 0, f"{page.url} scrolls sideways on a phone"
        if scripts:
            check_page(page, f"{name}-{step}")
        else:
            screenshot(page, f"{name}-{step}")  # axe itself needs JavaScript

    heading = page.get_by_role("heading", level=1)
    page.goto(link)
    expect(heading).to_have_text(ROUND)
    expect(page.get_by_role("main")).to_contain_text("Your answers are anonymous")
    visit("01-start")
    page.get_by_role("button", name="Start now").click()

    expect(heading).to_have_text("Pulse")
    expect(page.get_by_text("Part 1 of 1")).to_be_visible()
    visit("02-pulse")
    save = page.get_by_role("button", name="Save and check your answers")
    if leave_out:
        given = {k: v for k, v in answers.items() if k != leave_out}
        _answer_part(page, given)
        save.click()
        expect(page).to_have_title(re.compile(r"^Error: Pulse"))
        expect(page.locator(".govuk-error-summary")).to_contain_text(
            f"Choose an answer for “{leave_out}”, or “Don't know”."
        )
        first, answer = next(iter(given.items()))
        expect(
            page.get_by_role("group", name=first).get_by_label(answer, exact=True)
        ).to_be_checked()
        visit("02-pulse-missing-answer")
        answers_left = {leave_out: answers[leave_out]}
    else:
        answers_left = answers
    _answer_part(page, answers_left)
    if comment:
        page.get_by_label("Anything you want to add about this part? (optional)").fill(comment)
    save.click()

    expect(heading).to_have_text("Check your answers before sending them")
    summary = page.locator(".govuk-summary-list")
    for statement, answer in answers.items():
        expect(summary.locator(".govuk-summary-list__row", has_text=statement)).to_contain_text(
            answer
        )
    visit("03-check")
    page.get_by_role("button", name="Send my answers").click()

    expect(heading).to_have_text("Your answers are sent")
    visit("04-sent")


def test_a_health_check_from_opening_to_results(
    page: Page,
    member_page: Page,
    phone_page: Page,
    no_script_page: Page,
    browser: Browser,
    server: str,
    mail_dir: Path,
) -> None:
    heading = page.get_by_role("heading", level=1)
    sign_in(page)
    page.get_by_role("main").get_by_role("link", name=FORUM).click()
    expect(heading).to_have_text(FORUM)
    page.goto(page.url.rstrip("/") + "/health-checks/")
    expect(heading).to_have_text("Health checks")
    page.get_by_role("link", name="Start a health check").click()

    # Open a Member pulse round for two members of each side.
    expect(heading).to_have_text("Start a health check")
    check_page(page, "health-01-round-form")
    framework = page.get_by_label("Framework")
    offered = framework.locator("option").all_inner_texts()
    pulse = next((o for o in offered if o.startswith("Member pulse")), None)
    assert pulse, f"Member pulse is not offered: {offered}"
    framework.select_option(label=pulse)
    page.get_by_label("Title").fill(ROUND)
    page.get_by_label("Members I choose").check()
    for name in MANAGEMENT + STAFF:
        page.get_by_label(f"{name} (").check()
    expect(page.get_by_label("Anonymity floor")).to_have_value("3")
    # The dates are left as the form suggests them: from today, for a fortnight.
    expect(page.get_by_label("Opens on")).not_to_have_value("")
    expect(page.get_by_label("Closes at the end of")).not_to_have_value("")
    page.get_by_role("button", name="Open the health check").click()

    expect(heading).to_have_text(ROUND)
    expect(page.get_by_role("alert")).to_contain_text("The health check is open")
    main = page.get_by_role("main")
    expect(main).to_contain_text("0 of 4 people asked have answered")
    check_page(page, "health-02-round")
    round_url = page.url

    links = _invitations(mail_dir)
    respondents = MANAGEMENT + STAFF
    assert sorted(links) == sorted(_email_of(n) for n in respondents), links

    # Chloe (management) and Farid (staff) strongly agree that discussions turn into
    # action; Daniel (management) and Harry (staff) strongly disagree: a disputed item.
    _respond(
        member_page,
        links[_email_of("Chloe Morris")],
        _answers("Strongly agree"),
        "health-desktop",
        comment=COMMENT,
    )
    _respond(
        phone_page, links[_email_of("Daniel Foster")], _answers("Strongly disagree"), "health-phone"
    )
    harry = links[_email_of("Harry Turner")]
    _respond(
        member_page, harry, _answers("Strongly disagree"), "health-desktop-2", leave_out=ACTION
    )
    # Without JavaScript the whole journey works, the error for a missing answer too.
    _respond(
        no_script_page,
        links[_email_of("Farid Young")],
        _answers("Strongly agree", impact="Don't know"),
        "health-no-js",
        leave_out=ACTION,
        scripts=False,
    )

    # A used link and an unknown one each say plainly what is wrong (a 410 and a 404).
    context = browser.new_context(base_url=server)
    try:
        stranger = context.new_page()
        response = stranger.goto(harry)
        assert response and response.status == 410
        expect(stranger.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
        expect(stranger.get_by_role("main")).to_contain_text("This link has been used")
        check_page(stranger, "health-03-used-link")
        response = stranger.goto("/r/" + "x" * 43 + "/")
        assert response and response.status == 404
        expect(stranger.get_by_role("main")).to_contain_text("This link is not one we know")
        check_page(stranger, "health-04-unknown-link")
    finally:
        context.close()

    # While the round is open the manager sees how many have answered and nothing else:
    # no count per side, and no results.
    page.goto(round_url)
    expect(main).to_contain_text("4 of 4 people asked have answered")
    expect(page.get_by_role("table", name="Answers by side")).to_have_count(0)
    page.get_by_role("link", name="See the results").click()
    expect(main).to_contain_text("4 of 4 people asked have answered so far")
    expect(main).to_contain_text("The results appear when the health check closes")
    expect(page.get_by_role("table")).to_have_count(0)
    check_page(page, "health-05a-results-while-open")

    # Once it closes, the manager sees everyone has answered, but not how many from each side.
    page.goto(round_url)
    page.get_by_role("button", name="Close the health check now").click()
    expect(main).to_contain_text("4 of 4 people asked have answered")
    by_side = page.get_by_role("table", name="Answers by side")
    for side in ("Management side", "Staff side"):
        expect(by_side.get_by_role("row", name=side)).to_contain_text("Hidden to protect anonymity")
    check_page(page, "health-05-round-answered")

    page.get_by_role("link", name="See the results").click()
    expect(heading).to_have_text(f"Results: {ROUND}")
    expect(main).to_contain_text("4 of 4 people asked have answered")
    # Four people, two sides of two: no group is big enough to compare, so no gaps.
    expect(page.get_by_role("heading", name="Where groups see things differently")).to_have_count(0)

    principles = page.get_by_role("table", name="Principles in Pulse")
    meetings = principles.get_by_role("row", name="Meetings")
    expect(meetings).to_contain_text("Disputed")
    expect(principles.get_by_role("row", name="Purpose and priorities")).not_to_contain_text(
        "Disputed"
    )
    page.get_by_text("Statements under “Meetings”").click()
    statements = page.get_by_role("table", name="Statements under Meetings")
    expect(statements.get_by_role("row", name=ACTION)).to_contain_text("Disputed")
    expect(statements.get_by_role("row", name=ACTION)).to_contain_text("Strongly agree: 2")
    expect(statements.get_by_role("row", name=ACTION)).to_contain_text("Strongly disagree: 2")
    expect(statements.get_by_role("row", name="Our meetings add value")).not_to_contain_text(
        "Disputed"
    )
    # The one "Don't know" came from the member without JavaScript.
    page.get_by_text("Statements under “Results”").click()
    statements = page.get_by_role("table", name="Statements under Results")
    expect(statements.get_by_role("row", name=IMPACT)).to_contain_text("Don't know: 1")

    sides = page.get_by_role("table", name="Principle scores by side")
    expect(sides.get_by_role("columnheader", name="Management side")).to_contain_text("hidden")
    expect(sides.get_by_role("columnheader", name="Staff side")).to_contain_text("hidden")
    for cell in sides.locator("td").all():
        expect(cell).to_have_text("–")
    expect(main).to_contain_text("Hidden to protect anonymity: Management side, Staff side.")
    expect(main).to_contain_text(COMMENT)
    check_page(page, "health-06-results")

    page.get_by_role("link", name="How to read these results").click()
    expect(heading).to_have_text("How to read health-check results")
    check_page(page, "health-07-how-to-read")

    # The demo's finished 2026 round, with 17 answers, shows a gap between the sides.
    page.goto(round_url)
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Health checks"
    ).click()
    page.get_by_role("link", name="Results of Forum health check 2026").click()
    expect(heading).to_have_text("Results: Forum health check 2026")
    gaps = page.locator("#gaps + ul").get_by_role("listitem")
    side_gap = gaps.filter(has_text="Communications: Management side scores it")
    expect(side_gap.filter(has_text="higher than Staff side (by side)")).to_have_count(1)
    change = page.get_by_role("table", name="Change per principle")
    joint = change.get_by_role("row", name="Joint agenda setting")
    expect(joint).to_contain_text("Beyond noise")
    # The principle's row gives the same change as the table of changes.
    difference = joint.get_by_role("cell").nth(1).inner_text()
    assert re.fullmatch(r"\+\d+", difference), difference
    principles = page.get_by_role("table", name="Principles in Ways of working")
    since_last_time = principles.get_by_role("row", name="Joint agenda setting").get_by_role("cell")
    expect(since_last_time.nth(3)).to_have_text(f"{difference} Beyond noise")
    check_page(page, "health-08-results-2026")
