"""The Stores page in headless Chromium: trigger a report, watch it, download it, one week."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from csv import DictReader
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kpiflow.config import Settings
from kpiflow.packs.stores import generate, load
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import screenshot
from tests.dashboard.servers import serve
from tests.helpers import run_pack

pytestmark = pytest.mark.xdist_group("browser")
READY = "body[data-state=ready]"


@pytest.fixture(scope="module")
def stores_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The statement's example store plus 60 generated stores, served by uvicorn."""
    root = tmp_path_factory.mktemp("stores-site")
    (root / "h.csv").write_text("store_id,dayOfWeek,start_time_local,end_time_local\n"
                                "s1,0,09:00:00,12:00:00\ns1,6,22:00:00,02:00:00\n")
    (root / "z.csv").write_text("store_id,timezone_str\ns1,America/New_York\n")
    (root / "s.csv").write_text("store_id,timestamp_utc,status\n"
                                "s1,2023-01-23 15:14:00 UTC,active\n"
                                "s1,2023-01-23 16:15:00 UTC,inactive\n")
    ids = [f"t{i:02d}" for i in range(60)]
    generate.generate(ids, datetime(2023, 1, 16, 17, tzinfo=UTC), 7, 5, root / "g.csv")
    settings = Settings(database_url=f"sqlite:///{root / 'kpiflow.db'}", state_dir=root / "state")
    run_pack(settings, "stores", load.load_job({
        "hours": root / "h.csv", "timezones": root / "z.csv", "status": root / "s.csv"}))
    run_pack(settings, "stores", load.load_job({"status": root / "g.csv"}))
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        yield url


UNITS = ["store id", "uptime last hour (min)", "uptime last day (h)", "uptime last week (h)",
         "downtime last hour (min)", "downtime last day (h)", "downtime last week (h)",
         "up last week (%)"]


def _natural(store: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", store)]


def _shown(page: Any) -> list[list[str]]:
    return [r.split("\t") for r in page.locator("#report-preview tbody tr").all_inner_texts()]


def _sort_by(page: Any, header: str) -> None:
    page.click(f"#report-preview th button.sort:text-is('{header}')")


def test_trigger_watch_download(stores_site: str, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{stores_site}/stores")
    page.wait_for_selector(READY, state="attached")
    page.fill("#report-now", "2023-01-23 17:00")
    page.click("#trigger")
    page.wait_for_selector("#report-state.ok", timeout=60_000)
    assert "Complete: 61 stores" in page.inner_text("#report-state")
    # The download is the fetched CSV as a blob: URL (a plain link could not send a token).
    with page.expect_download() as download:
        page.click("#report-download")
    csv = Path(download.value.path()).read_text()
    assert download.value.suggested_filename.startswith("report-")
    # The statement's example plus the Sunday 22:00-02:00 shift: 4 more hours up.
    assert "s1,15.00,6.25,6.25,45.00,0.75,0.75" in csv.splitlines()
    assert len(csv.splitlines()) == 62
    report = list(DictReader(io.StringIO(csv)))

    def share(row: dict[str, str]) -> float | None:
        up, down = float(row["uptime_last_week"]), float(row["downtime_last_week"])
        return None if up + down == 0 else 100 * up / (up + down)

    # headers with their units; worst first by default: the lowest share of the week up
    headers = page.locator("#report-preview thead th").all_inner_texts()
    assert headers == [*UNITS[:-1], UNITS[-1] + " ▲"]
    worst = sorted(report, key=lambda r: (share(r) is None, share(r) or 0,
                                          _natural(r["store_id"])))
    shown = _shown(page)
    assert len(shown) == 50  # 50 at a time
    assert [r[0] for r in shown] == [r["store_id"] for r in worst[:50]]
    assert shown[0][7] == f"{share(worst[0]):.1f}" and share(worst[0]) < share(worst[-1])  # type: ignore[operator]
    assert "50 of 61 stores shown" in page.inner_text("#report-count")
    page.click("#report-more")
    assert [r[0] for r in _shown(page)] == [r["store_id"] for r in worst]
    assert page.is_hidden("#report-more")
    s1 = next(r for r in _shown(page) if r[0] == "s1")
    assert s1 == ["s1", "15.00", "6.25", "6.25", "45.00", "0.75", "0.75", "89.3"]
    screenshot(page, "stores-report")

    # any column: a click sorts ascending, a second click descending
    _sort_by(page, "uptime last hour (min)")
    hour = [(float(r["uptime_last_hour"]), _natural(r["store_id"]), r["store_id"]) for r in report]
    assert [r[0] for r in _shown(page)] == [r[2] for r in sorted(hour)]
    assert page.get_attribute("#report-preview th[aria-sort]", "aria-sort") == "ascending"
    _sort_by(page, "uptime last hour (min) ▲")
    by_desc = sorted(hour, key=lambda r: (-r[0], r[1]))
    assert [r[0] for r in _shown(page)] == [r[2] for r in by_desc]
    assert page.get_attribute("#report-preview th[aria-sort]", "aria-sort") == "descending"
    _sort_by(page, "store id")
    assert [r[0] for r in _shown(page)] == sorted((r["store_id"] for r in report), key=_natural)
    screenshot(page, "stores-report-by-id")
    # an auto-refresh (a reload) shows the same report in the same order: the address keeps both
    assert "report=" in page.url and "sort=store_id" in page.url
    by_id = _shown(page)
    page.reload()
    page.wait_for_selector("#report-state.ok", timeout=60_000)
    assert _shown(page) == by_id[:50]  # 50 at first again
    assert page.is_visible("#report-download")
    assert console.errors == []


def test_one_store_week_timeline(stores_site: str, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{stores_site}/stores")
    page.fill("#store-id", "s1")
    page.fill("#store-now", "2023-01-23 17:00")
    page.click("#show-store")
    page.wait_for_selector("#timeline svg")
    page.wait_for_selector(READY, state="attached")
    lanes = page.locator("#timeline g.lane")
    assert lanes.count() == 8  # the week spans 8 local dates
    monday = page.locator('#timeline g.lane[data-date="2023-01-23"]')
    assert monday.locator("rect.business").count() == 2  # 00:00-02:00 (from Sunday), 09-12
    titles = [t.text_content() for t in monday.locator("rect.up title, rect.down title").all()]
    assert titles == ["up 00:00-02:00 local (120 min)", "up 09:00-11:15 local (135 min)",
                      "down 11:15-12:00 local (45 min)"]
    # Sunday 22:00 to Monday 02:00: shaded on both lanes.
    sunday = page.locator('#timeline g.lane[data-date="2023-01-22"]')
    assert sunday.locator("rect.business").count() == 1
    assert monday.locator("rect.poll-up").count() == 1
    assert monday.locator("rect.poll-down").count() == 1
    info = page.inner_text("#store-info")
    assert "America/New_York" in info and "15 min up, 45 min down" in info
    screenshot(page, "stores-week")
    page.reload()  # the address keeps the store and its "now"
    page.wait_for_selector("#timeline svg")
    assert page.input_value("#store-now") == "2023-01-23 17:00"
    assert "15 min up, 45 min down" in page.inner_text("#store-info")
    # A store from the examples list, and an unknown one.
    page.locator("button.sample").first.click()
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.fill("#store-id", "nobody")
    page.fill("#store-now", "")
    page.click("#show-store")
    page.wait_for_selector("body[data-state=error]")
    assert "no polls" in page.inner_text("#stores-status")
    assert [e for e in console.errors if "404" not in e] == []


def test_page_is_in_the_navigation(stores_site: str) -> None:
    home = httpx.get(f"{stores_site}/", follow_redirects=True).text
    assert 'href="stores"' in home
    assert httpx.get(f"{stores_site}/api/v1/stores/s1/week",
                     params={"now": "2023-01-23T17:00:00Z"}).json()["row"]["uptime_last_hour"] == 15.0
    assert httpx.get(f"{stores_site}/api/v1/stores/s1/week", params={"now": "x"}).status_code == 422


def test_a_wrong_time_is_named_with_the_fix(stores_site: str, browser_page: tuple[Any, Any]) -> None:
    page, console = browser_page
    page.goto(f"{stores_site}/stores")
    page.wait_for_selector(READY, state="attached")
    page.fill("#report-now", "tomorrow")
    page.click("#trigger")
    page.wait_for_selector("#report-state.error")
    assert page.inner_text("#report-state") == (
        'Now: "tomorrow" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2023-01-25 18:00, '
        "or leave it empty for the latest poll.")
    assert page.get_attribute("#report-now", "aria-invalid") == "true"
    assert page.is_hidden("#report-preview")  # nothing was triggered
    page.fill("#store-id", "s1")
    page.fill("#store-now", "2023-02-30 10:00")
    page.click("#show-store")
    page.wait_for_selector("body[data-state=error]", state="attached")
    assert page.inner_text("#stores-status").startswith('Now: "2023-02-30 10:00" is not a date')
    assert page.get_attribute("#store-now", "aria-invalid") == "true"
    page.fill("#store-now", "2023-01-23 17:00")  # fixed: the mark goes
    page.click("#show-store")
    page.wait_for_selector(READY, state="attached")
    assert page.get_attribute("#store-now", "aria-invalid") == "false"
    assert console.errors == []
