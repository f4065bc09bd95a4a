"""The Network page in headless Chromium: real data, stepping, a click on a bar, a prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from kpiflow.config import Settings
from kpiflow.packs.network import tables
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console, screenshot
from tests.dashboard.servers import serve
from tests.dashboard.site import START, Site

pytestmark = pytest.mark.xdist_group("browser")

READY = "body[data-state=ready]"

# The pixel centre of one bar, from Bokeh's own scales (the chart is a canvas).
BAR_POINT = """([figure, factor, value]) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name(figure) !== null);
  const view = Bokeh.index[doc.get_model_by_name(figure).id];
  view.el.scrollIntoView({block: "center"});
  const rect = view.el.getBoundingClientRect();
  return [rect.left + view.frame.x_scale.compute(value),
          rect.top + view.frame.y_scale.compute(factor)];
}"""
SOURCE = """(name) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name(name) !== null);
  const data = doc.get_model_by_name(name).data;
  const out = {};
  for (const [k, v] of Object.entries(data)) out[k] = Array.from(v, (x) => Number.isNaN(x) ? null : x);
  return out;
}"""


def _db_top(site: Site, table: Any, interval: int, start: int) -> list[tuple[int, int]]:
    id_col, value_col = list(table.c)[-2:]
    engine = create_engine(site.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(id_col, value_col)
            .where(table.c.interval == interval, table.c.interval_start_timestamp == start)
            .order_by(table.c.rank)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _latest(site: Site, interval: int) -> int:
    engine = create_engine(site.database_url)
    t = tables.service_traffic_volume.c
    with engine.connect() as conn:
        latest = conn.execute(
            select(t.interval_start_timestamp).where(t.interval == interval)
            .order_by(t.interval_start_timestamp.desc()).limit(1)).scalar_one()
    engine.dispose()
    return int(latest)


def _bars(page: Any, kind: str) -> list[tuple[int, int]]:
    data = page.evaluate(SOURCE, f"{kind}-bar-source")
    return list(zip(data["id"], data["value"], strict=True))


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate("() => ({...window.kpiflowNetwork.state})")


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, state="attached", timeout=30_000)


def test_network_page_shows_real_data_and_a_clicked_bar_opens_its_series(
    site: Site, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    _open(page, f"{site.url}/network")
    current = _state(page)["current"]
    assert current == _latest(site, 5)
    assert _bars(page, "services") == _db_top(site, tables.service_traffic_volume, 5, current)
    assert _bars(page, "cells") == _db_top(site, tables.cell_unique_users, 5, current)
    assert len(_bars(page, "services")) == 10
    # the selected interval in UTC and in the browser's zone (Athens is UTC+2 in November)
    assert page.inner_text("#current-utc").endswith("UTC")
    assert "Europe/Athens" in page.inner_text("#current-local")
    # numbers for people: bytes in MB on the bars
    assert all(t.endswith(("MB", "kB", "GB")) for t in
               page.evaluate(SOURCE, "services-bar-source")["text"])
    # the series opens on the rank-1 service, over the whole range
    first_service = _bars(page, "services")[0][0]
    assert page.inner_text("#services-series-title").startswith(f"Service {first_service}:")
    screenshot(page, "network")

    # click the third bar: its service's series replaces the first one's
    third_id, third_value = _bars(page, "services")[2]
    x, y = page.evaluate(BAR_POINT, ["services-bar", f"service {third_id}", third_value / 2])
    page.mouse.click(x, y)
    page.wait_for_function(
        f"document.getElementById('services-series-title').textContent"
        f".startsWith('Service {third_id}:')")
    page.wait_for_selector(READY, state="attached")
    assert _state(page)["services"] == third_id
    series = page.evaluate(SOURCE, "services-series-source")
    by_time = dict(zip(series["t"], series["mean"], strict=True))
    # points stand mid-interval; the clicked interval's value, from the DB
    assert by_time[current + 150_000] == third_value
    state = _state(page)
    # every 5-minute slot of the range is a point: no roll-up needed for a few hours
    assert len(series["t"]) == (state["end"] - state["start"]) // 300_000
    assert sum(v is not None for v in series["mean"]) >= 2

    # and a cell
    cell_id, cell_users = _bars(page, "cells")[1]
    x, y = page.evaluate(BAR_POINT, ["cells-bar", f"cell {cell_id}", cell_users / 2])
    page.mouse.click(x, y)
    page.wait_for_function(
        f"document.getElementById('cells-series-title').textContent"
        f".startsWith('Cell {cell_id}:')")
    page.wait_for_selector(READY, state="attached")
    screenshot(page, "network-clicked")
    assert console.errors == []
    assert all(u.startswith(site.url) for u in console.requests), "only our own server"


def test_stepping_and_the_hourly_interval(
    site: Site, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    _open(page, f"{site.url}/network")
    latest = _state(page)["current"]
    page.click("#prev")
    page.wait_for_function(f"window.kpiflowNetwork.state.current === {latest - 300_000}")
    page.wait_for_selector(READY, state="attached")
    assert _bars(page, "services") == _db_top(
        site, tables.service_traffic_volume, 5, latest - 300_000)
    page.click("#next")
    page.wait_for_function(f"window.kpiflowNetwork.state.current === {latest}")
    assert page.is_disabled("#next")

    page.select_option("#interval", "60")
    page.wait_for_function("window.kpiflowNetwork.state.interval === 60 && "
                           "document.body.dataset.state === 'ready'")
    hour = _state(page)["current"]
    assert hour % 3_600_000 == 0
    assert _bars(page, "cells") == _db_top(site, tables.cell_unique_users, 60, hour)
    assert "per hour" in page.inner_text("#cells-series-title")

    # a range typed by hand (UTC): the first two hours only
    first = int(START.timestamp() * 1000)
    page.fill("#from", "2026-11-23 18:00")
    page.fill("#to", "2026-11-23 20:00")
    page.click("#apply")
    page.wait_for_function(f"window.kpiflowNetwork.state.end === {first + 7_200_000} && "
                           "document.body.dataset.state === 'ready'")
    assert _state(page)["current"] == first + 3_600_000
    assert "2 hours with data" in page.inner_text("#range-info")
    screenshot(page, "network-hourly")
    assert console.errors == []


def test_network_page_behind_a_path_prefix(site: Site, browser_page: tuple[Any, Console]) -> None:
    page, console = browser_page
    # (the root's redirect under the prefix is tested in tests/dashboard/test_shell.py: the
    # first page is whichever pack sorts first, hosts when it is installed)
    _open(page, f"{site.url_prefixed}/network")
    assert page.url.startswith(f"{site.url_prefixed}/network")
    assert _state(page)["current"] == _latest(site, 5)
    assert _bars(page, "services") == _db_top(
        site, tables.service_traffic_volume, 5, _latest(site, 5))
    assert console.errors == []
    assert console.requests and all(u.startswith(site.url_prefixed + "/")
                                    for u in console.requests)
    # the navigation stays under the prefix
    page.click("header nav >> text=Ingest")
    page.wait_for_selector(READY, state="attached")
    assert page.url.startswith(site.url_prefixed + "/ingest")
    assert console.errors == []


def test_an_empty_database_says_what_to_do(
    tmp_path: Path, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}",
                        data_dir=tmp_path / "data", state_dir=tmp_path / "state")
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        page.goto(f"{url}/network")
        page.wait_for_selector("body[data-state=empty]", state="attached", timeout=30_000)
        assert "kpiflow network run" in page.inner_text("#network-status")
        assert page.is_disabled("#next") and page.is_disabled("#prev")
        screenshot(page, "network-empty")
        page.goto(f"{url}/ingest")
        page.wait_for_selector(READY, state="attached")
        assert "No run yet" in page.inner_text("main")
    assert console.errors == []
