"""Auto-refresh on every page: reloads after the chosen interval, remembers it, pauses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import screenshot
from tests.dashboard.site import Site


@pytest.mark.parametrize("path", ["/network", "/stores"])
def test_auto_refresh_reloads_and_pauses(site: Site, browser_page: tuple[Any, Any],
                                         path: str) -> None:
    page, console = browser_page
    page.goto(site.url + path)
    assert page.locator("#refresh-every").input_value() == "60"  # the default: every minute
    page.evaluate("window.__notReloaded = true")
    page.select_option("#refresh-every", "10")
    page.wait_for_function("window.__notReloaded === undefined", timeout=30_000)  # reloaded
    assert page.locator("#refresh-every").input_value() == "10"  # remembered
    screenshot(page, f"refresh-{path.strip('/')}")
    page.click("#refresh-pause")
    assert page.locator("#refresh-pause").inner_text() == "Resume"
    assert page.locator("#refresh-status").inner_text() == "paused"
    page.evaluate("window.__notReloaded = true")
    page.wait_for_timeout(12_000)
    assert page.evaluate("window.__notReloaded") is True  # paused: no reload
    page.click("#refresh-pause")  # resume for the next page of this browser
    page.select_option("#refresh-every", "60")
    assert console.errors == []
