"""The Network coverage page: per UTC day, which hours and 5-minute intervals have data.

Built on the server from the same reads as `GET /api/v1/coverage/` (`queries.coverage`, per
5-minute interval and per hour), so the page and the API never disagree. States:

- a 5-minute interval is *complete* when files gave it valid rows and none were quarantined,
  *partial* when some of its rows were quarantined (bad rows; perhaps all of them), *missing*
  when no ingested file has rows in it;
- an hour is *complete* when all 12 of its intervals have valid rows (the API's `complete`),
  *partial* when files have rows in it but fewer than 12 intervals have valid rows, *missing*
  when none do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlencode

from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.packs.network import queries
from kpiflow.packs.network.kpis import SERVICE_TRAFFIC_VOLUME

PATH = "network/coverage"  # relative to the dashboard's root (<base>)
HOUR_MS = 3_600_000
FIVE_MS = 300_000
DAY_CHOICES = (1, 7, 14, 31)
DEFAULT_DAYS = 7
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
STATE_WORDS = {"complete": "complete", "partial": "partial", "missing": "no data"}


@dataclass
class Window:
    """The days shown (UTC, `last` included) and what was wrong with the request, if anything."""

    last: date
    days: int
    problems: list[str] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _window(ctx: PageContext, newest: date) -> Window:
    """`?end=YYYY-MM-DD&days=N` from the address, or the newest days with data."""
    window = Window(newest, DEFAULT_DAYS)
    days = ctx.query.get("days", "").strip()
    if days:
        if days.isdigit() and int(days) in DAY_CHOICES:
            window.days = int(days)
        else:
            window.problems.append(
                f'Days: "{days}" is not one of {", ".join(map(str, DAY_CHOICES))}; '
                f"showing {DEFAULT_DAYS}.")
            window.invalid.add("days")
    end = ctx.query.get("end", "").strip()
    if end:
        try:
            if not DATE.fullmatch(end):
                raise ValueError(end)
            window.last = date.fromisoformat(end)
            if not 1970 <= window.last.year <= 9998:
                raise ValueError(end)
        except ValueError:
            window.problems.append(
                f'Last day: "{end}" is not a date; write YYYY-MM-DD (UTC), e.g. '
                f"{newest.isoformat()}. Showing the newest days with data.")
            window.invalid.add("end")
    return window


def _interval_state(row: dict[str, Any] | None) -> str:
    if row is None:
        return "missing"
    return "partial" if row["bad_rows"] else "complete" if row["rows"] else "missing"


def _hour_state(row: dict[str, Any] | None) -> str:
    if row is None:
        return "missing"
    return "complete" if row["complete"] else "partial"


def _hm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M")


def _hour_cell(start: int, hour: dict[str, Any] | None, fives: dict[int, dict[str, Any]]) -> str:
    state = _hour_state(hour)
    slivers = []
    missing = []
    for k in range(12):
        at = start + k * FIVE_MS
        five = fives.get(at)
        iv = _interval_state(five)
        if iv == "missing":
            missing.append(_hm(at))
        title = ""
        if five is not None and iv != "complete":
            title = (f' title="{_hm(at)} UTC: {five["rows"]:,} valid rows, '
                     f'{five["bad_rows"]:,} bad rows (quarantined)"')
        slivers.append(f'<i class="{iv}"{title}></i>')
    span = f"{_hm(start)} to {_hm(start + HOUR_MS)} UTC"
    if hour is None:
        text = f"{span}: no data"
    else:
        text = (f"{span}: {STATE_WORDS[state]}, {hour['intervals_with_data']} of 12 intervals "
                f"with data; {hour['files']:,} files, {hour['rows']:,} rows, "
                f"{hour['bad_rows']:,} bad rows")
        if missing and len(missing) < 12:
            text += f"; no data at {', '.join(missing)}"
    return (f'<td class="hour {state}" data-state="{state}" title="{escape(text)}" '
            f'aria-label="{escape(text)}"><span class="ivs">{"".join(slivers)}</span></td>')


def _day_row(day: date, hours: dict[int, dict[str, Any]],
             fives: dict[int, dict[str, Any]]) -> str:
    start = _day_ms(day)
    cells = []
    counts = {"complete": 0, "partial": 0, "missing": 0}
    rows = bad = intervals = 0
    for h in range(24):
        at = start + h * HOUR_MS
        hour = hours.get(at)
        counts[_hour_state(hour)] += 1
        if hour is not None:
            rows += hour["rows"]
            bad += hour["bad_rows"]
            intervals += hour["intervals_with_data"]
        cells.append(_hour_cell(at, hour, fives))
    hours_text = " · ".join(str(v) for v in counts.values())
    return (f'<tr data-day="{day.isoformat()}"><th scope="row">{day:%a} {day.isoformat()}</th>'
            f'{"".join(cells)}<td class="num">{hours_text}</td>'
            f'<td class="num">{intervals} / 288</td>'
            f'<td class="num">{rows:,}</td><td class="num">{bad:,}</td></tr>')


def _link(text: str, last: date, days: int, current: bool = False) -> str:
    query = urlencode({"end": last.isoformat(), "days": days})
    attr = ' aria-disabled="true" class="disabled"' if current else ""
    return f'<a href="{PATH}?{query}"{attr}>{escape(text)}</a>'


def render(ctx: PageContext) -> PageContent:
    """The coverage page for the days asked for (`?end=&days=`), newest day first."""
    newest_rows = queries.coverage(ctx.conn, 60, None, None, 1, 0)
    first, _, _ = queries.interval_extent(ctx.conn, SERVICE_TRAFFIC_VOLUME, 5)
    head = """
<div class="page-head">
  <h1>Network coverage</h1>
  <p class="hint">Which 5-minute intervals and hours have data, per UTC day
    (<a href="api/v1/coverage/">/api/v1/coverage/</a> has the same figures).</p>
</div>"""
    if not newest_rows:
        return PageContent(head + """
<section class="panel"><p class="hint empty" id="coverage-empty">No network data yet: put files
in DATA_DIR and run <code>kpiflow network run</code> (or press Run now on the Ingest page).</p>
</section>""")
    newest = _day_of(newest_rows[0]["interval_start_timestamp"])
    oldest = _day_of(first) if first is not None else newest
    w = _window(ctx, newest)
    start, end = _day_ms(w.first), _day_ms(w.last) + 24 * HOUR_MS
    hours = {r["interval_start_timestamp"]: r
             for r in queries.coverage(ctx.conn, 60, start, end, w.days * 24, 0)}
    fives = {r["interval_start_timestamp"]: r
             for r in queries.coverage(ctx.conn, 5, start, end, w.days * 288, 0)}
    days = [w.last - timedelta(days=i) for i in range(w.days)]
    rows = "".join(_day_row(d, hours, fives) for d in days)
    options = "".join(f'<option value="{n}"{" selected" if n == w.days else ""}>'
                      f'{n} day{"s" if n > 1 else ""}</option>' for n in DAY_CHOICES)
    problems = "".join(f"<p class=\"hint error\">{escape(p)}</p>" for p in w.problems)
    invalid = {k: ' aria-invalid="true"' if k in w.invalid else "" for k in ("end", "days")}
    step = timedelta(days=w.days)
    nav = " ".join((
        _link("◀ Older", w.last - step, w.days, current=w.first <= oldest),
        _link("Newer ▶", w.last + step, w.days, current=w.last >= newest),
        _link("Newest", newest, w.days, current=w.last == newest),
        _link("Oldest", oldest + step - timedelta(days=1), w.days,
              current=w.first <= oldest),
    ))
    hour_heads = "".join(f'<th class="hour-head">{h:02d}</th>' for h in range(24))
    body = f"""{head}
<section class="panel">
  <form class="controls" id="coverage-form" action="{PATH}" method="get" autocomplete="off">
    <label>Last day (UTC) <input type="text" name="end" id="coverage-end" size="10"
      value="{escape(w.last.isoformat())}" placeholder="YYYY-MM-DD"{invalid["end"]}></label>
    <label>Days <select name="days" id="coverage-days"{invalid["days"]}>{options}</select></label>
    <button type="submit" class="primary">Show</button>
    <nav class="coverage-nav" aria-label="other days">{nav}</nav>
  </form>
  <div id="coverage-problems" role="alert">{problems}</div>
  <p class="hint">{w.first.isoformat()} to {w.last.isoformat()} (UTC). The data covers
    {oldest.isoformat()} to {newest.isoformat()}.</p>
  <p class="legend">
    <span><i class="complete"></i> complete: valid rows, none quarantined</span>
    <span><i class="partial"></i> partial: some rows quarantined (interval), or fewer than 12
      intervals with data (hour, underlined)</span>
    <span><i class="missing"></i> no data</span>
  </p>
</section>
<section class="panel scroll">
  <table class="coverage" id="coverage">
    <thead><tr><th>day (UTC)</th>{hour_heads}<th class="num wrap">hours complete · partial · no data</th>
      <th class="num wrap">intervals with data</th><th class="num">rows</th>
      <th class="num wrap">bad rows</th></tr></thead>
    <tbody>{rows}</tbody>
  </table>
  <p class="hint">Each hour holds its twelve 5-minute intervals, left to right; hover an hour
    for its files, rows and the intervals without data.</p>
</section>
"""
    return PageContent(body)
