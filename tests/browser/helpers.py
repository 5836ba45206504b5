"""Helpers shared by the browser tests: accessibility checks, screenshots, signing in."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-results" / "browser"

MANAGER_EMAIL = "manager@example.org"
DEMO_PASSWORD = "partnerwell-demo"
FORUM = "Northmoor Community Health NHS Trust Partnership Forum"

# The page's own Content-Security-Policy forbids inline scripts, so axe is run through
# the DevTools protocol (page.evaluate), which the policy does not govern.
_RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map(n => n.target.join(" ")),
    }));
}"""


def server_today() -> dt.date:
    """The server's date, which may differ from this machine's near midnight."""
    return dt.datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "Europe/London"))).date()


def check_axe(page: Page) -> None:
    """Fail on any serious or critical axe-core violation on the current page."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text())
    violations = page.evaluate(_RUN_AXE)
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"])
        for v in violations
    )
    assert not violations, f"axe found problems on {page.url}:\n{report}"


def screenshot(page: Page, name: str) -> None:
    """Save the whole page for people to look at; test-results/ is not committed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def check_page(page: Page, name: str) -> None:
    """What every visited page gets: a screenshot, then the accessibility check."""
    screenshot(page, name)
    check_axe(page)


def sign_in(page: Page, email: str = MANAGER_EMAIL, password: str = DEMO_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My partnerships")


def current_member_count(page: Page) -> int:
    """The number in 'N current members from …' on a membership overview."""
    text = page.locator("main").inner_text()
    match = re.search(r"(\d+) current members? from", text)
    assert match, f"No member count on {page.url}"
    return int(match.group(1))


def page_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0 when it fits).

    Compared with the viewport size, not window.innerWidth: on a mobile viewport
    Chromium widens innerWidth to fit wide content, which would hide the overflow.
    """
    viewport = page.viewport_size
    assert viewport is not None
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    return max(0, width - viewport["width"] - 1)
