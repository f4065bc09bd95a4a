"""Auto-refresh on every page: reloads after the chosen interval, remembers it, pauses."""

from __future__ import annotations

from typing import Any

import pytest

from kpiflow.dashboard.app import pages_of
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
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


def test_every_page_has_the_refresh_controls(site: Site, browser_page: tuple[Any, Any]) -> None:
    """The shell brings them, so every page of every pack (and core's) has them, counting down."""
    page, console = browser_page
    paths = [p.path for p in pages_of(Runtime.build(site.settings(), discover_packs()))]
    assert {"/network", "/network/coverage", "/stores", "/ingest"} <= set(paths)
    for path in paths:
        page.goto(site.url + path)
        page.wait_for_function(
            "/^in \\d+ s$/.test(document.getElementById('refresh-status').textContent)",
            timeout=30_000)
        # done loading (leaving earlier would abort its requests): no request for 0.5 s
        page.wait_for_load_state("networkidle", timeout=30_000)
        assert page.evaluate("document.body.dataset.state") != "error", path
        assert page.locator("#refresh-every").input_value() == "60", path
        assert page.locator("#refresh-pause").inner_text() == "Pause", path
        options = page.locator("#refresh-every option").all_inner_texts()
        assert options == ["off", "10 s", "30 s", "1 min", "5 min"], path
    assert console.errors == []
