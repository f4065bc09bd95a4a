"""KPIFLOW_API_TOKEN_READS in headless Chromium: the Network page asks for the token, then
draws the real data with it; the Stores page's report polling and CSV download work with it;
the token goes only in a header, never in a URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kpiflow.config import Settings
from kpiflow.packs.network import tables
from kpiflow.packs.stores import load
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console, screenshot
from tests.dashboard.servers import serve
from tests.dashboard.site import TOKEN, Site
from tests.helpers import run_pack
from tests.packs.network.test_page import READY, _bars, _db_top, _latest

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def protected_url(site: Site) -> Iterator[str]:
    """The site's database served with its read routes behind the token."""
    settings = site.settings(api_token=TOKEN, api_token_reads=True)
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        yield url


def test_network_page_asks_for_the_token_then_shows_the_data(
    site: Site, protected_url: str, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    assert httpx.get(f"{protected_url}/api/v1/network/extent/").status_code == 401
    page.goto(f"{protected_url}/network")
    page.wait_for_selector("#token-prompt", state="visible", timeout=30_000)
    assert "needs the API token" in page.inner_text("#token-message")
    assert page.evaluate("() => document.activeElement.id") == "token-input"
    assert page.locator("#range-form").count() == 0  # locked: no page, only the prompt
    screenshot(page, "read-token-prompt")

    # a wrong token is refused (403) and forgotten; the prompt says so
    page.fill("#token-input", "not-the-token")
    page.press("#token-input", "Enter")
    page.wait_for_selector("#token-message:has-text('was refused')", timeout=30_000)
    assert page.evaluate("() => sessionStorage.getItem('kpiflow.apiToken')") is None

    # the right token: the page reloads and draws the latest interval's top bars
    console.errors.clear()  # Chromium logs the refused fetches above (401/403): expected
    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector(READY, state="attached", timeout=30_000)
    assert page.is_hidden("#token-prompt")
    latest = _latest(site, 5)
    assert _bars(page, "services") == _db_top(site, tables.service_traffic_volume, 5, latest)
    assert _bars(page, "cells") == _db_top(site, tables.cell_unique_users, 5, latest)
    screenshot(page, "read-token-network")
    assert console.errors == []
    assert not [url for url in console.requests if TOKEN in url]


@pytest.fixture(scope="module")
def protected_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stores statement's example store, served with the read routes behind the token."""
    root = tmp_path_factory.mktemp("stores-protected")
    (root / "h.csv").write_text("store_id,dayOfWeek,start_time_local,end_time_local\n"
                                "s1,0,09:00:00,12:00:00\n")
    (root / "z.csv").write_text("store_id,timezone_str\ns1,America/New_York\n")
    (root / "s.csv").write_text("store_id,timestamp_utc,status\n"
                                "s1,2023-01-23 15:14:00 UTC,active\n"
                                "s1,2023-01-23 16:15:00 UTC,inactive\n")
    settings = Settings(database_url=f"sqlite:///{root / 'kpiflow.db'}",
                        state_dir=root / "state", api_token=TOKEN, api_token_reads=True)
    run_pack(settings, "stores", load.load_job({
        "hours": root / "h.csv", "timezones": root / "z.csv", "status": root / "s.csv"}))
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        yield url


def test_stores_report_polls_and_downloads_with_the_token(
    protected_stores: str, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    page.goto(f"{protected_stores}/stores")  # no token yet: only the prompt
    page.wait_for_selector("#token-prompt", state="visible", timeout=30_000)
    assert page.locator("#trigger").count() == 0

    page.fill("#token-input", TOKEN)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("body[data-state=ready]", state="attached")
    console.errors.clear()  # the refused request above is on the console: expected
    page.fill("#report-now", "2023-01-23 17:00")
    page.click("#trigger")
    page.wait_for_selector("#report-state.ok", timeout=60_000)
    assert page.is_hidden("#token-prompt")
    assert page.get_attribute("#report-download", "href").startswith("blob:")
    with page.expect_download() as download:
        page.click("#report-download")
    csv = Path(download.value.path()).read_text().splitlines()
    assert csv[0].startswith("store_id,") and csv[1].startswith("s1,") and len(csv) == 2
    assert console.errors == []
    assert not [url for url in console.requests if TOKEN in url]
    screenshot(page, "read-token-stores")
