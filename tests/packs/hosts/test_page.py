"""The Hosts page in headless Chromium: alarms, hosts, top processes and a history chart."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import screenshot
from tests.dashboard.servers import serve
from tests.packs.hosts.conftest import AUTH, TOKEN

pytestmark = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def hosts_data(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two hosts, one process RED and one AMBER: the settings of their database."""
    root: Path = tmp_path_factory.mktemp("hosts-site")
    settings = Settings(database_url=f"sqlite:///{root / 'kpiflow.db'}", state_dir=root / "state",
                        api_token=TOKEN)
    now = time.time()
    series = {"hot": [88.0] * 13, "rising": [50 + 28 * i / 12 for i in range(13)],
              "idle": [2.0] * 13}
    runtime = Runtime.build(settings, discover_packs())
    with TestClient(create_app(runtime)) as client:
        for host, ip in (("web-1", "10.0.0.1"), ("db-1", "10.0.0.2")):
            samples = [{"ts": now - 120 + 10 * i, "pid": pid, "started": 100.0, "name": name,
                        "cpu": v, "mem": 5.0 + pid}
                       for pid, (name, values) in enumerate(series.items(), start=1)
                       for i, v in enumerate(values)]
            body = {"key": f"k-{host}-0001", "host_id": host, "hostname": host, "ip": ip,
                    "cores": 4, "samples": samples}
            assert client.post("/api/v1/hosts/samples", json=body, headers=AUTH).status_code == 200
        run_job(runtime, runtime.pack("hosts"), "alarms")
    return settings


@pytest.fixture(scope="module")
def hosts_site(hosts_data: Settings) -> Iterator[str]:
    """That database served by uvicorn."""
    with serve(create_app(Runtime.build(hosts_data, discover_packs()))) as url:
        yield url


def test_hosts_page_shows_alarms_top_and_chart(hosts_site: str,
                                               browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{hosts_site}/hosts")
    page.wait_for_selector("body[data-hosts-loaded]", state="attached", timeout=60_000)
    rows = [r.split("\t") for r in page.locator("#alarms tbody tr").all_inner_texts()]
    assert sorted((r[0], r[1], r[2]) for r in rows) == [
        ("AMBER", "db-1", "rising"), ("AMBER", "web-1", "rising"),
        ("RED", "db-1", "hot"), ("RED", "web-1", "hot")]
    assert page.locator("#alarms tbody tr.red").count() == 2
    hosts = [r.split("\t")[:3] for r in page.locator("#hosts tbody tr").all_inner_texts()]
    assert hosts == [["db-1", "10.0.0.2", "4"], ["web-1", "10.0.0.1", "4"]]
    top = page.locator("#top-cpu tbody tr").first.inner_text().split("\t")
    assert top[1] == "hot" and top[3] == "88.0"
    page.wait_for_selector("#history-chart[data-points]", state="attached", timeout=60_000)
    assert page.get_attribute("#history-chart", "data-points") == "13"
    assert "hot" in page.inner_text("#history-title")
    page.locator("#top-mem tbody tr").first.click()
    page.wait_for_function("document.getElementById('history-title').textContent.includes('mem')")
    # Every time on the page is UTC and says so; the chart's ticks are whole clock times.
    assert re.fullmatch(r"updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                        page.inner_text("#hosts-status"))
    heads = page.locator("#hosts thead th, #alarms thead th").all_inner_texts()
    assert "last seen (UTC)" in heads and "predicted crossing (UTC)" in heads
    ticks = page.evaluate("""() => Bokeh.documents.at(-1).roots()[0].below[0].formatter
        .seconds""")
    assert ticks == "%H:%M:%S"
    screenshot(page, "hosts")
    assert console.errors == []


COUNT_ALARM_READS = """() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/api/v1/hosts/alarms")).length"""


def test_auto_refresh_refetches_in_place_and_pauses(hosts_site: str,
                                                     browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{hosts_site}/hosts")
    page.wait_for_selector("body[data-hosts-loaded]", state="attached", timeout=60_000)
    page.locator("#top-mem tbody tr").first.click()  # a chosen process stays chosen
    page.wait_for_function("document.getElementById('history-title').textContent.includes('mem')")
    page.evaluate("window.__notReloaded = true")
    before = page.evaluate(COUNT_ALARM_READS)
    page.select_option("#refresh-every", "10")
    page.wait_for_function(f"({COUNT_ALARM_READS})() > {before}", timeout=30_000)
    assert page.evaluate("window.__notReloaded") is True  # in place: no reload
    assert "mem" in page.inner_text("#history-title")
    page.click("#refresh-pause")
    paused_at = page.evaluate(COUNT_ALARM_READS)
    page.wait_for_timeout(12_000)
    assert page.evaluate(COUNT_ALARM_READS) == paused_at  # paused: nothing fetched
    page.click("#refresh-pause")  # as it was, for the next page of this browser
    page.select_option("#refresh-every", "60")
    assert console.errors == []


def test_the_page_reads_with_the_token_when_reads_need_it(
    hosts_data: Settings, browser_page: tuple[Any, Any]
) -> None:
    page, console = browser_page
    protected = Settings(database_url=hosts_data.database_url, state_dir=hosts_data.state_dir,
                         api_token=TOKEN, api_token_reads=True)
    with serve(create_app(Runtime.build(protected, discover_packs()))) as url:
        page.goto(f"{url}/hosts")
        page.wait_for_selector("#token-prompt", state="visible", timeout=30_000)
        console.errors.clear()  # Chromium logs the page's own 401 (the prompt): expected
        page.fill("#token-input", TOKEN)
        page.click("#token-form button[type=submit]")
        page.wait_for_selector("body[data-hosts-loaded]", state="attached", timeout=60_000)
        assert page.locator("#alarms tbody tr").count() == 4
    assert console.errors == []
