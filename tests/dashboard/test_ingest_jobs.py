"""The Ingest page's "Scheduled jobs" section: as the server sends it, and in Chromium."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests import clock_pack
from tests.browser import Console
from tests.dashboard.servers import serve


def _runtime(tmp_path: Path, database_url: str) -> Runtime:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data",
                        state_dir=tmp_path / "state")
    return Runtime.build(settings, (clock_pack.pack,))


def _rows(html: str) -> dict[str, str]:
    section = re.search(r'<section class="panel" id="scheduled-jobs">(.*?)</section>', html, re.S)
    assert section is not None, "no Scheduled jobs section"
    assert "<h2>Scheduled jobs</h2>" in section.group(1)
    return dict(re.findall(r'<tr data-job="([^"]+)">(.*?)</tr>', section.group(1), re.S))


def _cells_html(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)


def _cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in _cells_html(row)]


def test_the_section_lists_schedules_and_last_results(tmp_path: Path, database_url: str) -> None:
    runtime = _runtime(tmp_path, database_url)
    with TestClient(create_app(runtime)) as client:
        run_job(runtime, clock_pack.pack, "tick")
        with pytest.raises(RuntimeError):
            run_job(runtime, clock_pack.pack, "nightly")
        page = client.get("/ingest")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert list(rows) == ["clock.tick", "clock.nightly", "clock.manual"]
    tick = _cells(rows["clock.tick"])
    assert tick[:5] == ["clock", "tick", "Tick once an interval.", "every 1 h",
                        "not scheduled by this server"]
    assert tick[5] == "ok" and tick[6].endswith("UTC")
    assert re.fullmatch(r"items \d+ · seconds 0\.25", tick[7])
    nightly = _cells(rows["clock.nightly"])
    assert nightly[3] == "cron 30 1 * * * (Europe/Athens)"
    assert nightly[5] == "failed" and nightly[8] == "nightly source unreachable"
    assert _cells(rows["clock.manual"])[3:] == ["on demand", "—", "never ran"]


def test_the_section_shows_the_next_run_of_a_serving_scheduler(
    tmp_path: Path, sqlite_url: str
) -> None:
    with TestClient(create_app(_runtime(tmp_path, sqlite_url), schedule=True)) as client:
        deadline = time.monotonic() + 60
        while True:  # the interval job runs once at start
            rows = _rows(client.get("/ingest").text)
            if "never ran" not in rows["clock.tick"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    tick_next = re.search(r'<time datetime="([^"]+)"', _cells_html(rows["clock.tick"])[4])
    nightly_next = re.search(r'<time datetime="([^"]+)"', _cells_html(rows["clock.nightly"])[4])
    assert tick_next is not None and nightly_next is not None
    assert nightly_next.group(1).endswith(":30:00Z")  # 01:30 in Athens is a :30 in UTC too


@pytest.mark.xdist_group("browser")
def test_the_section_in_chromium_shows_local_times(
    tmp_path: Path, sqlite_url: str, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    with serve(create_app(_runtime(tmp_path, sqlite_url), schedule=True)) as url:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the interval job runs once at start
            jobs = httpx.get(f"{url}/api/v1/jobs/").json()
            if jobs[0]["last_run"] is not None:
                break
            time.sleep(0.2)
        assert jobs[0]["last_run"] is not None, "the interval job did not run at start"
        ticked = jobs[0]["last_run"]["counts"]["items"]
        page.goto(f"{url}/ingest")
        page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)
        assert page.locator("#scheduled-jobs h2").inner_text() == "Scheduled jobs"
        assert page.locator("#jobs tbody tr").count() == 3
        tick = page.locator('#jobs tr[data-job="clock.tick"]').inner_text()
        assert "every 1 h" in tick and "\tok\t" in tick and f"items {ticked} · seconds 0.25" in tick
        assert "Europe/Athens" in tick  # next run and finish, each with the local time too
        nightly = page.locator('#jobs tr[data-job="clock.nightly"]').inner_text()
        assert "cron 30 1 * * * (Europe/Athens)" in nightly and "never ran" in nightly
    assert console.errors == []
