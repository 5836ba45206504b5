"""A whole meeting cycle in a real browser against the real server.

The demo manager plans a forum meeting for today and opens its agenda; a staff-side
member submits an item with a paper; the management-side co-chair accepts it and
approves the agenda; the staff-side co-chair approves too, so it is agreed; the
manager publishes the papers and the pack downloads as a PDF whose pages render;
the register is taken with a deputy; a decision and an action are minuted and the
action shows in the action log, linked back to its decision.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.browser.conftest import _open_page
from tests.browser.helpers import FORUM, check_page, server_today, sign_in

pytestmark = pytest.mark.browser

MEETING = "Extraordinary forum on rotas"
ITEM = "Fair rotas for community nursing teams"
PAPER = "Rota fairness paper"
PAPER_PAGES = 2
DECISION = "The forum agreed to pilot self-rostering in two community teams."
DECISION_WORD = "self-rostering"
ACTION = "Draft the self-rostering pilot terms"
OWNER = "Gareth Lloyd"  # chair@example.org
OWNER_ORGANISATION = "Northmoor Community Health NHS Trust"
DEPUTY = "Jordan Blake"
PDFTOPPM = "/usr/bin/pdftoppm"
PDFINFO = "/usr/bin/pdfinfo"


@pytest.fixture
def member_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


@pytest.fixture
def chair_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


@pytest.fixture
def staff_chair_page(browser: Browser, server: str) -> Iterator[Page]:
    yield from _open_page(browser, server)


def _paper_pdf(folder: Path) -> Path:
    """A real PDF of PAPER_PAGES pages, made as a member's word processor would."""
    from weasyprint import HTML

    pages = "".join(
        f'<section style="page-break-after: always"><h1>{PAPER}, page {n}</h1>'
        f"<p>Teams asked for fair rotas; this page sets out part {n} of the case.</p></section>"
        for n in range(1, PAPER_PAGES + 1)
    )
    path = folder / "rota-fairness.pdf"
    HTML(string=f"<html><body>{pages}</body></html>").write_pdf(path)
    return path


def _pdf_pages(path: Path) -> int:
    result = subprocess.run(
        [PDFINFO, str(path)], capture_output=True, text=True, check=True, timeout=60
    )
    match = re.search(r"^Pages:\s+(\d+)$", result.stdout, re.MULTILINE)
    assert match, f"pdfinfo gave no page count:\n{result.stdout}"
    return int(match.group(1))


def _rendered_pages(path: Path, folder: Path) -> int:
    """Render every page with poppler and count the images it wrote."""
    out = folder / "rendered"
    out.mkdir()
    subprocess.run(
        [PDFTOPPM, "-r", "40", "-png", str(path), str(out / "page")],
        capture_output=True,
        check=True,
        timeout=120,
    )
    images = list(out.glob("page-*.png"))
    assert all(image.stat().st_size > 0 for image in images)
    return len(images)


def _plan_meeting(page: Page) -> str:
    """The manager plans today's meeting and opens its agenda; returns its address."""
    heading = page.get_by_role("heading", level=1)
    main = page.get_by_role("main")
    sign_in(page)
    main.get_by_role("link", name=FORUM).click()
    expect(heading).to_have_text(FORUM)
    forum_url = page.url
    page.goto(forum_url.rstrip("/") + "/meetings/")
    expect(heading).to_have_text("Meetings")
    check_page(page, "meetings-01-list")

    page.get_by_role("link", name="Plan a meeting").click()
    expect(heading).to_have_text("Plan a meeting")
    check_page(page, "meetings-02-meeting-form")
    page.get_by_label("Title").fill(MEETING)
    page.get_by_label("Forum", exact=True).check()
    page.get_by_label("Date").fill(server_today().isoformat())
    page.get_by_label("Start time").fill("00:00")
    page.get_by_label("End time").fill("23:59")
    page.get_by_label("Place").fill("Northmoor House, room 2")
    page.get_by_role("button", name="Save the meeting").click()

    expect(heading).to_have_text(MEETING)
    expect(page.get_by_role("alert")).to_contain_text("Meeting planned")
    check_page(page, "meetings-03-planned")
    page.get_by_role("button", name="Open the agenda for items").click()
    expect(heading).to_have_text(MEETING)
    expect(page.get_by_role("link", name="Submit an item")).to_be_visible()
    check_page(page, "meetings-04-agenda-open")
    return page.url


def _submit_item(page: Page, meeting_url: str, paper: Path) -> None:
    """A staff-side member submits an item with a paper; it waits for the chairs, late."""
    heading = page.get_by_role("heading", level=1)
    sign_in(page, "member@example.org")
    page.goto(meeting_url)
    expect(heading).to_have_text(MEETING)
    check_page(page, "meetings-05-member-meeting")
    page.get_by_role("link", name="Submit an item").click()
    expect(heading).to_have_text("Submit an item for the agenda")
    check_page(page, "meetings-06-item-form")
    page.get_by_label("Title", exact=True).fill(ITEM)
    page.get_by_label("Description (optional)").fill("Rotas are set late and unevenly.")
    page.get_by_label("Decision", exact=True).check()
    page.get_by_label("Strategic", exact=True).check()
    page.get_by_label("Presenter (optional)").fill("Staff side")
    page.get_by_label("Time needed (minutes)").fill("30")
    page.get_by_label("Paper (optional)", exact=True).set_input_files(paper)
    page.get_by_label("Title of the paper (optional)").fill(PAPER)
    page.get_by_role("button", name="Submit the item").click()

    expect(page.get_by_role("alert")).to_contain_text(
        f"“{ITEM}” is submitted for the agenda of “{MEETING}”. "
        "It is after the deadline, so it is marked late."
    )
    expect(page.get_by_role("main").locator(".govuk-tag")).to_have_text(
        ["Waiting for the chairs", "Late"]
    )
    page.goto(meeting_url)
    waiting = page.get_by_role("table", name="Items waiting for the chairs")
    row = waiting.get_by_role("row").filter(has=page.get_by_role("link", name=ITEM))
    expect(row).to_contain_text("Late")
    expect(row).to_contain_text("Staff side")
    check_page(page, "meetings-07-item-waiting")

    # The paper downloads, through the access-checked view, as the PDF that was sent.
    row.get_by_role("link", name=ITEM).click()
    expect(heading).to_contain_text(ITEM)
    check_page(page, "meetings-08-item")
    with page.expect_download() as download:
        page.get_by_role("link", name=PAPER, exact=True).click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == paper.read_bytes()


def _triage_and_approve(page: Page, meeting_url: str) -> None:
    """The management-side co-chair accepts the item and approves the agenda."""
    heading = page.get_by_role("heading", level=1)
    main = page.get_by_role("main")
    sign_in(page, "chair@example.org")
    page.goto(meeting_url)
    waiting = page.get_by_role("table", name="Items waiting for the chairs")
    waiting.get_by_role("link", name=f"Triage {ITEM}").click()
    expect(heading).to_have_text(f"Triage “{ITEM}”")
    expect(main.locator(".govuk-tag", has_text="Late")).to_be_visible()
    check_page(page, "meetings-09-triage")
    page.get_by_label("Accept it onto the agenda").check()
    page.get_by_role("button", name="Save the decision").click()

    expect(heading).to_have_text(MEETING)
    agenda = page.get_by_role("table", name="Agenda", exact=True)
    accepted = agenda.get_by_role("row").filter(has=page.get_by_role("link", name=ITEM))
    expect(accepted).to_contain_text("Late")
    expect(accepted).to_contain_text("raised by the staff side")
    expect(accepted.get_by_role("link", name=PAPER)).to_be_visible()
    expect(page.get_by_role("table", name="Items waiting for the chairs")).to_have_count(0)
    check_page(page, "meetings-10-accepted")

    page.get_by_role("button", name="Approve this agenda").click()
    expect(main).to_contain_text(re.compile(r"waiting for the staff side", re.IGNORECASE))
    expect(page.get_by_role("button", name="Approve this agenda")).to_have_count(0)
    check_page(page, "meetings-11-approved-by-management")


def _staff_side_approves(page: Page, meeting_url: str) -> None:
    main = page.get_by_role("main")
    sign_in(page, "staffchair@example.org")
    page.goto(meeting_url)
    expect(main).to_contain_text("waiting for the staff side")
    check_page(page, "meetings-12-staff-chair-meeting")
    page.get_by_role("button", name="Approve this agenda").click()
    expect(main.locator(".govuk-inset-text").first).to_contain_text("The agenda is agreed")
    expect(page.get_by_role("main")).to_contain_text("Agenda agreed")
    check_page(page, "meetings-13-agenda-agreed")


def _publish_and_download(page: Page, meeting_url: str, tmp_path: Path) -> None:
    """The manager publishes the papers; the pack is a PDF holding the paper's pages."""
    page.goto(meeting_url)
    page.get_by_role("button", name="Publish the papers").click()
    expect(page.get_by_role("alert")).to_contain_text("Papers published")
    download_link = page.get_by_role("link", name="Download the papers pack (PDF)")
    expect(download_link).to_be_visible()
    check_page(page, "meetings-14-papers-published")

    # The pack opens in the browser's PDF viewer (inline), so it is fetched with the
    # page's own cookies rather than waited for as a download.
    href = download_link.get_attribute("href")
    assert href
    response = page.request.get(href)
    assert response.ok, f"HTTP {response.status} for the papers pack"
    assert response.headers["content-type"] == "application/pdf"
    pack = tmp_path / "pack.pdf"
    pack.write_bytes(response.body())
    assert pack.read_bytes().startswith(b"%PDF")
    pages = _pdf_pages(pack)
    assert _rendered_pages(pack, tmp_path) == pages
    # A cover and an agenda, then the paper's own pages, last.
    assert pages >= 2 + PAPER_PAGES, f"The pack has {pages} pages; the paper's are missing"
    reader = PdfReader(pack)
    assert len(reader.pages) == pages
    for n in range(1, PAPER_PAGES + 1):
        text = reader.pages[pages - 1 - PAPER_PAGES + n].extract_text()
        assert f"{PAPER}, page {n}" in text, f"Page {n} of the paper is not in the pack"
    status = page.locator("#pack-status")
    expect(status).to_contain_text(f"{pages} page")


def _take_register(page: Page, meeting_url: str) -> None:
    heading = page.get_by_role("heading", level=1)
    page.goto(meeting_url)
    page.get_by_role("link", name="Take the register").click()
    expect(heading).to_have_text("The register")
    check_page(page, "meetings-15-register")
    table = page.locator("table.pw-register")
    rows = table.locator("tbody tr")
    count = rows.count()
    assert count >= 3, f"Only {count} members on the register"
    for number in range(count):
        rows.nth(number).get_by_label("Present", exact=True).check()
    deputy_row = rows.nth(count - 1)
    member = deputy_row.locator("th").inner_text().splitlines()[0].strip()
    deputy_row.get_by_label("Deputy attended", exact=True).check()
    deputy_row.get_by_label(f"Deputy attending for {member}").fill(DEPUTY)
    page.get_by_role("button", name="Check quorum").click()
    expect(page.locator("#quorum-status")).to_contain_text(f"{count} members present")
    check_page(page, "meetings-16-register-checked")
    page.get_by_role("button", name="Save the register").click()

    expect(heading).to_have_text(MEETING)
    expect(page.get_by_role("alert")).to_contain_text("The register is saved.")
    expect(page.get_by_role("alert")).to_contain_text("The meeting was quorate.")
    summary = page.get_by_role("main").locator(".govuk-summary-list").first
    expect(summary.locator(".govuk-summary-list__row", has_text="Stage")).to_contain_text("Held")
    attendance = page.locator("section", has=page.locator("#attendance-heading"))
    # Exact text: a substring match would also find "Not quorate".
    expect(attendance.locator(".govuk-tag", has_text=re.compile(r"^Quorate$"))).to_be_visible()
    expect(attendance.locator(".govuk-tag", has_text=re.compile("quorate", re.I))).to_have_count(1)
    check_page(page, "meetings-17-held")

    page.get_by_role("link", name="Change the register").click()
    expect(heading).to_have_text("The register")
    reopened = page.locator("table.pw-register tbody tr").nth(count - 1)
    expect(reopened.get_by_label("Deputy attended", exact=True)).to_be_checked()
    expect(reopened.get_by_label(f"Deputy attending for {member}")).to_have_value(DEPUTY)
    check_page(page, "meetings-18-register-reopened")


def _minute(page: Page, meeting_url: str) -> str:
    """Record a decision on the item and an action under it; returns the decision's reference."""
    heading = page.get_by_role("heading", level=1)
    main = page.get_by_role("main")
    page.goto(meeting_url.rstrip("/") + "/minutes/")
    expect(heading).to_have_text("Minutes")
    check_page(page, "meetings-19-minutes")
    item_choice = page.get_by_label("Agenda item")
    label = item_choice.locator("option", has_text=ITEM).inner_text()
    item_choice.select_option(label=label)
    page.get_by_label("What was decided").fill(DECISION)
    page.get_by_role("button", name="Record the decision").click()

    block = main.locator(".pw-minutes-item", has=page.get_by_role("heading", name=ITEM))
    decision = block.locator(".pw-decision", has_text=DECISION)
    expect(decision).to_be_visible()
    reference = decision.locator("a").first.inner_text().strip()
    check_page(page, "meetings-20-decision")

    decision.get_by_role("link", name=f"Add an action to {reference}").click()
    expect(page.get_by_label("Under which decision?")).to_have_value(re.compile(r"^decision-\d+$"))
    page.get_by_label("Action", exact=True).fill(ACTION)
    page.get_by_label("Owner").select_option(label=f"{OWNER} ({OWNER_ORGANISATION})")
    page.get_by_label("Owning organisation").select_option(label=OWNER_ORGANISATION)
    due = server_today() + dt.timedelta(days=28)
    page.get_by_label("Due date").fill(due.isoformat())
    page.get_by_role("button", name="Add the action").click()

    decision = main.locator(".pw-decision", has_text=DECISION)
    action = decision.locator(".pw-decision__actions li", has_text=ACTION)
    expect(action).to_contain_text(f"{OWNER} ({OWNER_ORGANISATION})")
    expect(action).to_contain_text(f"due {due.day} {due:%B %Y}")
    check_page(page, "meetings-21-action-minuted")
    return reference


def _find_in_logs(page: Page, forum_url: str, reference: str) -> None:
    """The action is in the action log, linked back to the decision; the decision is found."""
    heading = page.get_by_role("heading", level=1)
    page.goto(forum_url.rstrip("/") + "/actions/")
    expect(heading).to_have_text("Actions")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=ACTION))
    expect(row).to_contain_text("From: meeting decision")
    expect(row).to_contain_text(OWNER)
    check_page(page, "meetings-22-action-log")
    row.get_by_role("link", name=ACTION).click()
    expect(heading).to_have_text(ACTION)
    came_from = page.locator(".govuk-summary-list__row", has_text="Came from")
    check_page(page, "meetings-23-action")
    came_from.get_by_role("link").click()
    expect(page.get_by_role("main")).to_contain_text(DECISION)
    expect(page.get_by_role("main")).to_contain_text(reference)
    check_page(page, "meetings-24-decision")

    page.goto(forum_url.rstrip("/") + "/decisions/")
    expect(heading).to_have_text("Decision log")
    page.get_by_role("textbox", name="Search decisions").fill(DECISION_WORD)
    page.get_by_role("button", name="Search").click()
    found = page.get_by_role("table", name=re.compile(r"^\d+ decisions?$"))
    expect(found.locator("tbody tr")).to_have_count(1)
    expect(found).to_contain_text(reference)
    expect(found).to_contain_text(MEETING)
    check_page(page, "meetings-25-decision-log")


def _other_pages(page: Page, forum_url: str, meeting_url: str) -> None:
    heading = page.get_by_role("heading", level=1)
    page.goto(forum_url.rstrip("/") + "/meetings/")
    expect(page.get_by_role("table", name="Past meetings, most recent first")).to_be_visible()
    check_page(page, "meetings-26-list-after")
    page.get_by_role("link", name="Forward plan and items between meetings").click()
    expect(heading).to_contain_text("Forward plan")
    check_page(page, "meetings-27-forward-plan")
    page.goto(forum_url.rstrip("/") + "/meetings/")
    page.get_by_role("link", name="Attendance record").click()
    expect(heading).to_contain_text("Attendance")
    expect(page.get_by_role("main")).to_contain_text(MEETING)
    check_page(page, "meetings-28-attendance-record")
    page.goto(meeting_url)
    page.get_by_role("link", name="Printable agenda").click()
    expect(page.get_by_role("main")).to_contain_text(ITEM)
    expect(page.get_by_role("main")).to_contain_text(PAPER)
    check_page(page, "meetings-29-printable-agenda")


def test_a_meeting_from_agenda_to_action_log(
    page: Page,
    member_page: Page,
    chair_page: Page,
    staff_chair_page: Page,
    tmp_path: Path,
) -> None:
    paper = _paper_pdf(tmp_path)
    assert _pdf_pages(paper) == PAPER_PAGES

    meeting_url = _plan_meeting(page)
    forum_url = (
        page.get_by_role("navigation", name="Breadcrumb")
        .get_by_role("link", name=FORUM)
        .get_attribute("href")
    )
    assert forum_url

    _submit_item(member_page, meeting_url, paper)
    _triage_and_approve(chair_page, meeting_url)
    _staff_side_approves(staff_chair_page, meeting_url)
    _publish_and_download(page, meeting_url, tmp_path)
    _take_register(page, meeting_url)
    reference = _minute(page, meeting_url)
    _find_in_logs(page, forum_url, reference)
    _other_pages(page, forum_url, meeting_url)
