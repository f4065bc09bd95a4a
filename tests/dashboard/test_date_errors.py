"""The network page names the field and the fix when a date is wrong, and marks the field."""

from __future__ import annotations

from typing import Any

from tests.browser import screenshot
from tests.dashboard.site import Site


def _submit(page: Any, start: str, end: str) -> str:
    page.fill("#from", start)
    page.fill("#to", end)
    page.click("#range-form button[type=submit]")
    page.wait_for_function("document.body.dataset.state === 'error'")
    return str(page.locator("#network-status").inner_text())


def test_date_errors_say_which_field_and_how(site: Site, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(site.url + "/network")
    page.wait_for_function("document.body.dataset.state === 'ready'", timeout=30_000)
    assert _submit(page, "2026-11-23 18:00", "2026-11-23 12:00") == (
        "To (2026-11-23 12:00 UTC) must be later than From (2026-11-23 18:00 UTC).")
    assert page.get_attribute("#to", "aria-invalid") == "true"
    assert _submit(page, "yesterday", "2026-11-23 12:00") == (
        'From: "yesterday" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-23 18:00.')
    assert page.get_attribute("#from", "aria-invalid") == "true"
    assert page.get_attribute("#to", "aria-invalid") == "false"
    assert _submit(page, "2026-11-23 18:00", "2026-13-45 10:00") == (
        'To: "2026-13-45 10:00" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-24 00:00.')
    # a day that does not exist is refused, not rolled over to March 2
    assert _submit(page, "2026-02-30 10:00", "2026-11-23 12:00") == (
        'From: "2026-02-30 10:00" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-23 18:00.')
    screenshot(page, "network-date-error")
    assert console.errors == []
