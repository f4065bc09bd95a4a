"""The Ingest page in headless Chromium: runs, ledger, quarantine, and Run now with a token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kpiflow.packs.network import generate
from tests.browser import Console, screenshot
from tests.dashboard.site import START, TOKEN, Site

pytestmark = pytest.mark.xdist_group("browser")

READY = "body[data-state=ready]"
# Chromium reports a refused fetch (401/403) on the console: expected where we test refusal.
REFUSED = ("status of 401", "status of 403")


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=30_000)


def _run_rows(page: Any) -> int:
    return page.locator("#runs tbody tr").count()


def test_ingest_page_lists_runs_ledger_and_quarantine(
    site: Site, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    _open(page, f"{site.url}/ingest")
    assert _run_rows(page) >= 1
    first_run = page.locator("#runs tbody tr").last.inner_text()
    assert "network" in first_run and "ingest" in first_run and "ok" in first_run
    assert "files new 146" in first_run and "intervals updated" in first_run
    assert "Europe/Athens" in first_run  # started: UTC and the browser's local time
    # the ledger: every file with its status; the rejected one says why
    assert "rejected (1)" in page.inner_text("#ledger .chips")
    page.click("#ledger .chips >> text=rejected")
    page.wait_for_selector(READY, state="attached")
    rejected = page.inner_text("#ledger-table")
    assert "extra/notes.txt" in rejected and "header" in rejected.lower()
    # the quarantine: file, line and reason of each bad row
    quarantine = page.inner_text("#quarantine-table")
    assert "ipflow_data.ts-1795457100000.9.txt" in quarantine
    for line in ("3", "4", "5"):
        assert f"\t{line}\t" in quarantine
    screenshot(page, "ingest")
    assert console.errors == []


def test_run_now_is_refused_without_the_token_and_runs_with_it(
    site: Site, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    _open(page, f"{site.url}/ingest")
    runs_before = _run_rows(page)

    page.click("#run-button")  # no token
    page.wait_for_selector("#run-status.error")
    assert "Refused" in page.inner_text("#run-status")
    assert "token is required" in page.inner_text("#run-status")
    page.fill("#run-token", "not-the-token")
    page.click("#run-button")
    page.wait_for_function("document.getElementById('run-status').textContent"
                           ".includes('wrong token')")
    assert _run_rows(page) == runs_before  # nothing ran

    # new data arrives; Run now with the token ingests it
    # late part files for the first half hour (already seen): they update old intervals
    generate.generate(site.data / "late", START, 0.5,
                      rows_per_interval=600, parts=1, seed=3)
    page.select_option("#run-pack", "network")  # not the first pack by name any more
    page.fill("#run-token", TOKEN)
    page.click("#run-button")
    page.wait_for_selector("#run-status.ok, #run-status.error", timeout=120_000)
    assert "files new 6," in page.inner_text("#run-status")  # the pack's counts as they are
    page.wait_for_load_state("load")  # the page reloads itself after a run
    page.wait_for_function(f"document.querySelectorAll('#runs tbody tr').length > {runs_before}",
                           timeout=30_000)
    newest = page.locator("#runs tbody tr").first.inner_text()
    assert "ok" in newest and "files new 6" in newest
    screenshot(page, "ingest-after-run")
    assert [e for e in console.errors if not any(r in e for r in REFUSED)] == []


def test_run_now_is_disabled_when_no_token_is_configured(
    site: Site, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    _open(page, f"{site.url_no_token}/ingest")
    assert page.is_disabled("#run-button")
    assert "disabled" in page.inner_text("#run-now + .hint")
    reply = httpx.post(f"{site.url_no_token}/api/v1/runs/network",
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 403
    assert "KPIFLOW_API_TOKEN" in reply.json()["detail"]
    screenshot(page, "ingest-no-token")
    assert console.errors == []


def test_run_now_behind_a_path_prefix(site: Site, browser_page: tuple[Any, Console]) -> None:
    page, console = browser_page
    _open(page, f"{site.url_prefixed}/ingest")
    page.select_option("#run-pack", "network")  # not the first pack by name any more
    page.fill("#run-token", TOKEN)
    page.click("#run-button")
    page.wait_for_selector("#run-status.ok, #run-status.error", timeout=120_000)
    assert "Done" in page.inner_text("#run-status")
    assert all(u.startswith(site.url_prefixed + "/") for u in console.requests)
    assert console.errors == []
