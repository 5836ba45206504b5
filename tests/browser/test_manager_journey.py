"""A partnership manager's first hour, in a real browser against the real server."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.helpers import (
    DEMO_PASSWORD,
    FORUM,
    MANAGER_EMAIL,
    check_page,
    current_member_count,
    page_overflow,
    sign_in,
)

pytestmark = pytest.mark.browser

PARTNERSHIP = "Northmoor Urgent Care Partnership Forum"
NEW_ORGANISATION = "Northmoor Ambulance Service NHS Trust"
HEADING = "organisation,sector,name,email,role,side,decision-maker\n"
# Line 3 has a broken email address; everything else in the file is fine.
BAD_CSV = (
    HEADING
    + "Moorland Fire and Rescue Service,Fire and rescue,Ruth Baker,ruth.baker@example.org,member,Management side,yes\n"
    + "UNISON Northmoor Health Branch,,Tom Reilly,tom.reilly.example.org,member,Staff side,no\n"
    + '"Royal College of Nursing, Northmoor",,Ama Mensah,ama.mensah@example.org,,Staff side,no\n'
)
GOOD_CSV = BAD_CSV.replace("tom.reilly.example.org", "tom.reilly@example.org")


def _csv(text: str) -> FilePayload:
    return {"name": "urgent-care-members.csv", "mimeType": "text/csv", "buffer": text.encode()}


def _sent_to(mail_dir: Path, address: str) -> bool:
    return any(f"To: {address}" in f.read_text() for f in mail_dir.glob("*.log"))


def test_it_lets_the_demo_manager_set_up_a_partnership(page: Page, mail_dir: Path) -> None:
    page.goto("/accounts/login/")
    check_page(page, "journey-01-sign-in")
    page.locator("#id_username").fill(MANAGER_EMAIL)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My partnerships")
    expect(page.get_by_role("main").get_by_role("link", name=FORUM)).to_be_visible()
    check_page(page, "journey-02-home")

    # Create a partnership with two sides.
    page.get_by_role("link", name="Create a partnership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create a partnership")
    check_page(page, "journey-03-create-partnership")
    page.get_by_label("Name", exact=True).fill(PARTNERSHIP)
    page.get_by_label("Type").select_option(label="Partnership forum")
    page.get_by_label("Area").fill("Northmoor County")
    page.get_by_label("Purpose").fill("Managers and staff agree changes to urgent care together.")
    page.get_by_label("Vision").fill("No change to urgent care that staff hear about last.")
    page.get_by_label("Management side and staff side").check()
    page.get_by_label("Which organisation do you represent on it?").select_option(
        label="Northmoor General Hospitals NHS Trust"
    )
    page.get_by_role("button", name="Create partnership").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(PARTNERSHIP)
    expect(page.get_by_role("alert")).to_contain_text(f"{PARTNERSHIP} has been created")
    expect(page.get_by_text("Sides: Management side, Staff side")).to_be_visible()
    check_page(page, "journey-04-partnership")
    partnership_url = page.url

    # Add an organisation to the directory.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Organisations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    check_page(page, "journey-05-organisations")
    page.get_by_role("link", name="Add an organisation").click()
    check_page(page, "journey-06-organisation-form")
    page.get_by_label("Name", exact=True).fill(NEW_ORGANISATION)
    page.get_by_label("Sector").select_option(label="NHS provider")
    page.get_by_label("Website").fill("https://ambulance.northmoor.example")
    page.get_by_role("button", name="Add organisation").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(NEW_ORGANISATION)
    expect(page.get_by_role("alert")).to_contain_text("has been added to the directory")
    check_page(page, "journey-07-organisation")

    # Add a member from that organisation.
    page.goto(partnership_url)
    page.get_by_role("link", name="Add a member").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a member")
    check_page(page, "journey-08-member-form")
    page.get_by_label("Full name").fill("Joanna Price")
    page.get_by_label("Email address").fill("joanna.price@example.org")
    page.get_by_label("Organisation", exact=True).select_option(label=NEW_ORGANISATION)
    page.get_by_label("Role").select_option(label="Member")
    page.get_by_label("Management side").check()
    page.get_by_label("Can take decisions for their organisation on the spot").check()
    page.get_by_role("button", name="Add member").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Membership overview")
    expect(page.get_by_role("alert")).to_contain_text("Joanna Price has been added")
    expect(page.get_by_role("row", name=f"{NEW_ORGANISATION} Joanna Price")).to_be_visible()
    assert current_member_count(page) == 2
    assert _sent_to(mail_dir, "joanna.price@example.org"), "No invitation email was sent"
    missing, represented = page.locator("#sectors-missing"), page.locator("#sectors-represented")
    expect(missing).to_contain_text("Fire and rescue")
    expect(represented).not_to_contain_text("Fire and rescue")
    check_page(page, "journey-09-members")

    # A file with one bad row imports nothing and says which line to fix.
    page.get_by_role("link", name="Import members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import members")
    check_page(page, "journey-10-import")
    page.get_by_label("Member list (CSV or XLSX)").set_input_files(_csv(BAD_CSV))
    page.get_by_role("button", name="Check the file").click()

    expect(page).to_have_title("Error: Import members \N{EN DASH} partnerwell")
    expect(page.get_by_role("alert")).to_contain_text(
        "1 row of urgent-care-members.csv needs fixing"
    )
    expect(page.get_by_role("alert")).to_contain_text("Nothing has been imported")
    row_errors = page.get_by_role("table", name="Rows with problems").locator("tbody tr")
    expect(row_errors).to_have_count(1)
    expect(row_errors.locator("td")).to_have_text(
        ["3", "“tom.reilly.example.org” is not an email address."]
    )
    expect(page.get_by_text("2 other rows had no problem.")).to_be_visible()
    check_page(page, "journey-11-import-errors")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Membership overview")
    assert current_member_count(page) == 2
    expect(page.get_by_role("main")).not_to_contain_text("Ruth Baker")
    expect(missing).to_contain_text("Fire and rescue")
    check_page(page, "journey-12-members-after-bad-file")

    # The fixed file: check the preview, then import.
    page.get_by_role("link", name="Import members").click()
    page.get_by_label("Member list (CSV or XLSX)").set_input_files(_csv(GOOD_CSV))
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check the import of urgent-care-members.csv"
    )
    expect(page.get_by_role("main")).to_contain_text("Importing adds 3 members and updates 0")
    preview_rows = page.get_by_role("table", name="The rows").locator("tbody tr")
    expect(preview_rows).to_have_count(3)
    expect(preview_rows.nth(1)).to_contain_text("tom.reilly@example.org")
    check_page(page, "journey-13-import-preview")
    page.get_by_role("button", name="Import 3 members").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Membership overview")
    expect(page.get_by_role("alert")).to_contain_text(
        "3 members added, 0 updated, 1 new organisations"
    )
    assert current_member_count(page) == 5
    for name in ("Ruth Baker", "Tom Reilly", "Ama Mensah"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(missing).not_to_contain_text("Fire and rescue")
    expect(represented).to_contain_text("Fire and rescue \N{EN DASH} 1 organisation")
    expect(missing).not_to_contain_text("Trade union")
    expect(represented).to_contain_text("Trade union \N{EN DASH} 2 organisations")
    check_page(page, "journey-14-members-after-import")


def test_it_works_on_a_phone_sized_screen(phone_page: Page) -> None:
    page = phone_page
    page.goto("/accounts/login/")
    assert page_overflow(page) == 0, "The sign-in page scrolls sideways"
    check_page(page, "phone-01-sign-in")
    sign_in(page)
    assert page_overflow(page) == 0, "The home page scrolls sideways"
    check_page(page, "phone-02-home")

    page.get_by_role("main").get_by_role("link", name=FORUM).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FORUM)
    assert page_overflow(page) == 0, "The partnership overview scrolls sideways"

    menu = page.get_by_role("button", name="Menu")
    navigation = page.locator("#navigation")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(navigation).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(navigation.get_by_role("link", name="Organisations")).to_be_visible()
    check_page(page, "phone-03-partnership-menu-open")
    menu.click()
    expect(navigation).to_be_hidden()
    check_page(page, "phone-04-partnership")

    page.get_by_role("link", name="Membership overview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Membership overview")
    assert page_overflow(page) == 0, "The membership overview scrolls sideways"
    check_page(page, "phone-05-members")


def test_it_can_be_used_by_keyboard(page: Page) -> None:
    page.goto("/accounts/login/")
    focused = page.evaluate("document.activeElement.id || document.activeElement.tagName")
    assert focused == "BODY", f"#{focused} takes focus on load, so Tab skips the skip link"

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to main content")
    expect(skip_link).to_be_focused()
    box = skip_link.bounding_box()
    assert box and box["width"] > 10 and box["height"] > 10, "The focused skip link is hidden"
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    page.keyboard.press("Tab")
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type(MANAGER_EMAIL)
    page.keyboard.press("Tab")
    expect(page.locator("#id_password")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    check_page(page, "keyboard-01-sign-in-button-focused")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("My partnerships")
    check_page(page, "keyboard-02-home")
