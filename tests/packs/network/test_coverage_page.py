"""The Network coverage page in Chromium: every hour's and interval's state matches the files.

The reference is the files the test writes (which intervals have valid rows, which have bad
rows), never the page's own queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kpiflow.config import Settings
from kpiflow.packs.network import generate
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.browser import Console, screenshot
from tests.dashboard.servers import serve
from tests.dashboard.site import network_run

pytestmark = pytest.mark.xdist_group("browser")

FIRST = datetime(2026, 11, 22, 22, tzinfo=UTC)  # six generated hours: 22:00 to 04:00
DAY1, DAY2 = date(2026, 11, 22), date(2026, 11, 23)
FIVE = 300_000
HEADER = ("interval_start_timestamp,interval_end_timestamp,msisdn,bytes_uplink,bytes_downlink,"
          "service_id,cell_id")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _at(hour: int, minute: int) -> int:
    """An interval start on DAY2."""
    return _ms(datetime(2026, 11, 23, hour, minute, tzinfo=UTC))


@dataclass
class Expected:
    """What the files say: valid rows and bad rows per interval start."""

    rows: dict[int, int]
    bad: dict[int, int]

    def interval(self, start: int) -> str:
        if self.bad.get(start):
            return "partial"
        return "complete" if self.rows.get(start) else "missing"

    def hour(self, start: int) -> str:
        starts = range(start, start + 12 * FIVE, FIVE)
        with_rows = sum(1 for s in starts if self.rows.get(s))
        if with_rows == 12:
            return "complete"
        return "partial" if any(s in self.rows or s in self.bad for s in starts) else "missing"


def _rows_in(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1


@pytest.fixture(scope="module")
def coverage_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Expected]]:
    """Hours complete, partial (3 intervals missing; only bad rows), missing, with bad rows."""
    root = tmp_path_factory.mktemp("coverage")
    data = root / "data"
    files = generate.generate(data, FIRST, 6, rows_per_interval=120, parts=2, seed=5)
    gone = {_at(1, 10), _at(1, 25), _at(1, 50)} | set(range(_at(2, 0), _at(3, 0), FIVE))
    rows: dict[int, int] = {}
    for path in files:
        start = int(path.name.split("-")[1].split(".")[0]) - FIVE
        if start in gone:
            path.unlink()
        else:
            rows[start] = rows.get(start, 0) + _rows_in(path)
    bad: dict[int, int] = {}
    # 03:10: one more valid row and two bad ones; 04:20: a file of bad rows only
    for start, lines in ((_at(3, 10), [f"{_at(3, 10)},{_at(3, 15)},306900000001,100,200,1,1000",
                                       f"{_at(3, 10)},{_at(3, 15)},306900000002,-5,200,1,1000",
                                       f"{_at(3, 10)},{_at(3, 10)},306900000003,1,2,1,1000"]),
                         (_at(4, 20), [f"{_at(4, 20)},{_at(4, 25)},30690000000x,1,2,1,1000"])):
        path = data / "extra" / generate.file_name(start + FIVE, 9)
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join([HEADER, *lines]) + "\n")
        good = sum(1 for line in lines if "-5" not in line and "x" not in line
                   and line.split(",")[0] != line.split(",")[1])
        if good:
            rows[start] = rows.get(start, 0) + good
        bad[start] = len(lines) - good
    (data / "junk.txt").write_text("not a network file\n")  # network_run expects exit 3
    settings = Settings(database_url=f"sqlite:///{root / 'kpiflow.db'}", data_dir=data,
                        state_dir=root / "state")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        network_run(settings)
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        yield url, Expected(rows, bad)


# Per day row: every hour's state and its twelve intervals' states, and the day's totals.
READ_TABLE = """() => Array.from(document.querySelectorAll("#coverage tbody tr"), (tr) => ({
  day: tr.dataset.day,
  hours: Array.from(tr.querySelectorAll("td.hour"), (td) => ({
    state: td.dataset.state, title: td.title,
    intervals: Array.from(td.querySelectorAll(".ivs i"), (i) => i.className)})),
  nums: Array.from(tr.querySelectorAll("td.num"), (td) => td.textContent),
}))"""


def _day_start(day: date) -> int:
    return _ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def test_coverage_states_match_the_files(
    coverage_site: tuple[str, Expected], browser_page: tuple[Any, Console]
) -> None:
    url, expected = coverage_site
    page, console = browser_page
    page.goto(f"{url}/network")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)
    page.click("header nav >> text=Coverage")  # linked from the shell
    page.wait_for_selector("#coverage", timeout=30_000)
    assert page.url.startswith(f"{url}/network/coverage")
    days = page.evaluate(READ_TABLE)
    # the newest days with data first: seven of them by default, ending with DAY2
    assert [d["day"] for d in days] == [(DAY2 - timedelta(days=i)).isoformat() for i in range(7)]
    for row in days:
        start = _day_start(date.fromisoformat(row["day"]))
        for h, hour in enumerate(row["hours"]):
            at = start + h * 3_600_000
            assert hour["state"] == expected.hour(at), (row["day"], h)
            assert hour["intervals"] == [expected.interval(at + k * FIVE) for k in range(12)], (
                row["day"], h)
        day_rows = sum(v for s, v in expected.rows.items() if start <= s < start + 86_400_000)
        day_bad = sum(v for s, v in expected.bad.items() if start <= s < start + 86_400_000)
        states = [expected.hour(start + h * 3_600_000) for h in range(24)]
        assert row["nums"][0] == " · ".join(
            str(states.count(s)) for s in ("complete", "partial", "missing"))
        with_rows = sum(1 for s in expected.rows if start <= s < start + 86_400_000)
        assert row["nums"][1:] == [f"{with_rows} / 288", f"{day_rows:,}", f"{day_bad:,}"]
    # the cases the data was built for, said plainly
    by_day = {d["day"]: d for d in days}
    day2 = by_day[DAY2.isoformat()]["hours"]
    assert [day2[h]["state"] for h in range(6)] == [
        "complete", "partial", "missing", "complete", "partial", "missing"]
    assert "9 of 12 intervals" in day2[1]["title"] and "01:10, 01:25, 01:50" in day2[1]["title"]
    assert day2[3]["intervals"][2] == "partial"  # 03:10 has quarantined rows
    assert day2[4]["intervals"][4] == "partial" and "0 of 12" in day2[4]["title"]
    assert [h["state"] for h in by_day[DAY1.isoformat()]["hours"][22:]] == ["complete"] * 2
    assert all(h["state"] == "missing" for h in by_day[DAY1.isoformat()]["hours"][:22])
    screenshot(page, "network-coverage")
    assert console.errors == []


def test_other_days_and_clear_errors(
    coverage_site: tuple[str, Expected], browser_page: tuple[Any, Console]
) -> None:
    url, _ = coverage_site
    page, console = browser_page
    page.goto(f"{url}/network/coverage?end=2026-11-22&days=1")
    assert [d["day"] for d in page.evaluate(READ_TABLE)] == ["2026-11-22"]
    assert page.get_attribute("text=Newer ▶", "aria-disabled") is None
    page.click("text=Newer ▶")
    page.wait_for_url("**end=2026-11-23**")
    assert [d["day"] for d in page.evaluate(READ_TABLE)] == ["2026-11-23"]
    assert page.get_attribute("text=Newer ▶", "aria-disabled") == "true"  # nothing newer
    # the form: a wrong date and a wrong day count say which field and how, and mark it
    page.fill("#coverage-end", "2026-13-45")
    page.click("#coverage-form button[type=submit]")
    page.wait_for_url("**end=2026-13-45**")
    problems = page.inner_text("#coverage-problems")
    assert 'Last day: "2026-13-45" is not a date; write YYYY-MM-DD (UTC), e.g. 2026-11-23.' in (
        problems)
    assert page.get_attribute("#coverage-end", "aria-invalid") == "true"
    assert page.get_attribute("#coverage-days", "aria-invalid") is None
    assert [d["day"] for d in page.evaluate(READ_TABLE)] == ["2026-11-23"]  # the newest day
    page.goto(f"{url}/network/coverage?days=5")
    assert 'Days: "5" is not one of 1, 7, 14, 31; showing 7.' in page.inner_text(
        "#coverage-problems")
    assert page.get_attribute("#coverage-days", "aria-invalid") == "true"
    assert len(page.evaluate(READ_TABLE)) == 7
    # the navigation works from this deeper path too
    page.click("header nav >> text=Network")
    page.wait_for_selector("body[data-state=ready]", state="attached", timeout=30_000)
    assert page.url.startswith(f"{url}/network?") or page.url == f"{url}/network"
    assert console.errors == []


def test_an_empty_database_says_what_to_do(
    tmp_path: Path, browser_page: tuple[Any, Console]
) -> None:
    page, console = browser_page
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}",
                        data_dir=tmp_path / "data", state_dir=tmp_path / "state")
    with serve(create_app(Runtime.build(settings, discover_packs()))) as url:
        page.goto(f"{url}/network/coverage")
        assert "kpiflow network run" in page.inner_text("#coverage-empty")
    assert console.errors == []
