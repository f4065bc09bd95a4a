"""The Network page's series break at gaps: no line or min-max band across missing intervals.

A 2017 sample and 2026 data once became one diagonal wedge: BokehJS's `varea` draws straight
across missing values. The band is now a patch with a polygon per run of buckets with data.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, select

from kpiflow.config import Settings
from kpiflow.packs.network import generate, tables
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console, screenshot
from tests.dashboard.servers import serve
from tests.dashboard.site import network_run

pytestmark = pytest.mark.xdist_group("browser")

OLD = datetime(2017, 6, 1, 12, tzinfo=UTC)
NEW = datetime(2026, 11, 23, 18, tzinfo=UTC)
SOURCE = """(name) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name(name) !== null);
  const out = {};
  for (const [k, v] of Object.entries(doc.get_model_by_name(name).data))
    out[k] = Array.from(v, (x) => (typeof x === "number" && Number.isNaN(x) ? null : x));
  return out;
}"""
# Page pixel of a data point of a figure, from Bokeh's own scales (the chart is a canvas).
POINT = """([figure, x, y]) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name(figure) !== null);
  const view = Bokeh.index[doc.get_model_by_name(figure).id];
  const rect = view.el.getBoundingClientRect();
  return [rect.left + view.frame.x_scale.compute(x), rect.top + view.frame.y_scale.compute(y)];
}"""


SET_BAND = """(data) => {
  const doc = Bokeh.documents.find((d) => d.get_model_by_name("services-series-band") !== null);
  doc.get_model_by_name("services-series-band").data = data;
}"""
BAND_FILL = (220, 229, 242)  # the services band: #3b6fb6 at 18 % over white


def _colors(page: Any, x: float, y: float) -> set[tuple[int, int, int]]:
    """The colours of the 7x7 pixels around a point of the page."""
    shot = Image.open(io.BytesIO(page.screenshot(
        clip={"x": x - 3, "y": y - 3, "width": 7, "height": 7}))).convert("RGB")
    return {shot.getpixel((i, j)) for i in range(shot.width) for j in range(shot.height)}


@pytest.fixture(scope="module")
def gap_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """One hour in 2017 and two hours in 2026, an hour apart: two gaps."""
    root = tmp_path_factory.mktemp("gaps")
    data = root / "data"
    generate.generate(data, OLD, 1, rows_per_interval=300, parts=1, seed=3)
    generate.generate(data, NEW, 1, rows_per_interval=300, parts=1, seed=3)
    generate.generate(data, NEW.replace(hour=20), 1, rows_per_interval=300, parts=1, seed=3)
    (data / "junk.txt").write_text("not a network file\n")  # network_run expects exit 3
    settings = Settings(database_url=f"sqlite:///{root / 'kpiflow.db'}", data_dir=data,
                        state_dir=root / "state")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        network_run(settings)
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        yield url, settings


def _service_in_both(settings: Settings) -> int:
    """A service in the top N in 2017 and in 2026 (the same generator seed)."""
    t = tables.service_traffic_volume.c
    split = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        old = set(conn.execute(select(t.service_id).where(
            t.interval == 5, t.interval_start_timestamp < split)).scalars())
        new = conn.execute(select(t.service_id, func.count()).where(
            t.interval == 5, t.interval_start_timestamp >= split,
            t.service_id.in_(old)).group_by(t.service_id).order_by(func.count().desc(),
                                                                   t.service_id)).first()
    engine.dispose()
    assert new is not None
    return int(new[0])


def _polygons(band: dict[str, list[Any]]) -> list[list[tuple[float, float]]]:
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(band["x"], band["y"], strict=True):
        if x is None:
            out.append([])
        else:
            out[-1].append((x, y))
    return [p for p in out if p]


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_the_rolled_up_band_and_line_break_at_years_of_missing_data(
    gap_site: tuple[str, Settings], browser_page: tuple[Any, Console]
) -> None:
    url, settings = gap_site
    page, console = browser_page
    service = _service_in_both(settings)
    start, end = _ms(OLD), _ms(NEW.replace(hour=21))
    _open(page, f"{url}/network?interval=5&from={start}&to={end}&service={service}")
    series = page.evaluate(SOURCE, "services-series-source")
    band = page.evaluate(SOURCE, "services-series-band")
    api = page.evaluate(f"""kpiflow.api("api/v1/network/series/", {{kpi: "services",
        id: {service}, interval: 5, start: {start}, end: {end}, max_points: 600}})""")
    step = api["bucket_ms"]
    assert step > 300_000  # nine years: rolled up, with a band
    with_data = {t for t, m in zip(api["t"], api["mean"], strict=True) if m is not None}
    assert min(with_data) < _ms(datetime(2018, 1, 1, tzinfo=UTC)) < max(with_data)
    polygons = _polygons(band)
    assert len(polygons) >= 2  # at least 2017 and 2026 apart
    covered: set[int] = set()
    for poly in polygons:
        xs = [x for x, _ in poly]
        first, last = min(xs), max(xs)  # a polygon spans its buckets' whole time
        buckets = set(range(int(first), int(last), step))
        assert buckets <= with_data, "the band crosses a bucket without data"
        covered |= buckets
        # its edges: min and max of the API at every bucket it spans
        for t in buckets:
            i = api["t"].index(t)
            assert (t + step / 2, api["min"][i]) in poly and (t + step / 2, api["max"][i]) in poly
    assert covered == with_data
    # the line: a value at every bucket with data, NaN (a break) everywhere else
    line = dict(zip(series["t"], series["mean"], strict=True))
    for t, m in zip(api["t"], api["mean"], strict=True):
        assert line[t + step / 2] == m
    # and drawn: half-way through the missing years the chart is blank, where the old band
    # drew a wedge from the 2017 values to the 2026 values
    page.locator("#services-series").scroll_into_view_if_needed()
    old_i, new_i = api["t"].index(min(with_data)), api["t"].index(max(with_data))
    mid_y = (api["min"][old_i] + api["max"][old_i] + api["min"][new_i] + api["max"][new_i]) / 4
    x, y = page.evaluate(POINT, ["services-series", (min(with_data) + max(with_data)) / 2, mid_y])
    assert all(math.dist(c, BAND_FILL) > 6 for c in _colors(page, x, y))
    screenshot(page, "network-gaps")
    # the probe sees a wedge where there is one: the band as `varea` drew it, lows forward and
    # highs back with the missing buckets skipped
    rows = [(t + step / 2, api["min"][i], api["max"][i]) for i, t in enumerate(api["t"])
            if t in with_data]
    page.evaluate(SET_BAND, {"x": [r[0] for r in rows] + [r[0] for r in reversed(rows)],
                             "y": [r[1] for r in rows] + [r[2] for r in reversed(rows)]})
    page.wait_for_timeout(300)  # a repaint
    assert any(math.dist(c, BAND_FILL) <= 6 for c in _colors(page, x, y))
    assert console.errors == []


def test_the_five_minute_line_breaks_at_a_missing_hour(
    gap_site: tuple[str, Settings], browser_page: tuple[Any, Console]
) -> None:
    url, settings = gap_site
    page, console = browser_page
    service = _service_in_both(settings)
    start, end = _ms(NEW), _ms(NEW.replace(hour=21))
    _open(page, f"{url}/network?interval=5&from={start}&to={end}&service={service}")
    series = page.evaluate(SOURCE, "services-series-source")
    assert page.evaluate(SOURCE, "services-series-band") == {"x": [], "y": []}  # no roll-up
    hour, gap = _ms(NEW.replace(hour=19)), 3_600_000
    missing = [m for t, m in zip(series["t"], series["mean"], strict=True) if hour <= t < hour + gap]
    assert len(missing) == 12 and all(m is None for m in missing)  # NaN: the line breaks
    assert sum(m is not None for m in series["mean"]) == 24
    screenshot(page, "network-gaps-5min")
    assert console.errors == []


# Points 5 minutes apart with one missing value and one jump of an hour (no point between).
HELPER_CASE = """() => {
  const t = [0, 300, 600, 900, 4500, 4800];
  const mean = [1, 2, null, 4, 5, NaN];
  return {
    runs: kpiflow.runs(t, 300, mean),
    line: kpiflow.lineWithBreaks(t, 300, {mean, text: ["a", "b", "c", "d", "e", "f"]}, "mean", 0),
    band: kpiflow.bandWithBreaks(t, 300, [1, 1, null, 3, 4, 4], [2, 2, null, 5, 6, null]),
  };
}"""


def _plain(values: list[Any]) -> list[Any]:
    """NaN (JavaScript's missing value) as None, for comparing lists."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def test_the_break_helpers_split_at_missing_values_and_at_jumps(
    gap_site: tuple[str, Settings], browser_page: tuple[Any, Console]
) -> None:
    url, _ = gap_site
    page, console = browser_page
    _open(page, f"{url}/ingest")
    got = page.evaluate(HELPER_CASE)
    assert got["runs"] == [[0, 1], [3], [4]]
    line = got["line"]
    # a NaN row (None here) is added between 900 and 4500; every point stays
    assert line["t"] == [0, 300, 600, 900, 1200, 4500, 4800]
    assert _plain(line["mean"]) == [1, 2, None, 4, None, 5, None]
    assert line["text"] == ["a", "b", "c", "d", "", "e", "f"]
    # dots only where a run has one point (900 and 4500)
    assert _plain(line["dot"]) == [None, None, None, 4, None, 5, None]
    band = got["band"]
    xs = _plain(band["x"])
    # three polygons: [0, 300] (caps at -150 and 450), 900 alone, 4500 alone (4800 has no max)
    assert xs == [-150, 0, 300, 450, 450, 300, 0, -150, None,
                  750, 900, 1050, 1050, 900, 750, None,
                  4350, 4500, 4650, 4650, 4500, 4350]
    assert _plain(band["y"])[:8] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert _plain(band["y"])[9:15] == [3, 3, 3, 5, 5, 5]
    assert console.errors == []
