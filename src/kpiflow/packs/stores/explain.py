"""`kpiflow stores explain`: one store's numbers taken apart, so a person can check them by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from sqlalchemy import Engine

from kpiflow.errors import KpiflowError
from kpiflow.packs.stores import business, queries, schema
from kpiflow.packs.stores import report as rep
from kpiflow.packs.stores.config import StoresSettings


class UnknownStore(KpiflowError):
    """The store has no polls up to "now"."""


def _possible_id(store_id: str) -> bool:
    """Whether `store_id` passes the load rules for ids (so a store could have it)."""
    try:
        store_id.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return 0 < len(store_id) <= schema.MAX_ID and "\x00" not in store_id


@dataclass(frozen=True)
class Interval:
    """A business interval of one window, in UTC and in the store's local time."""

    start_utc: datetime
    end_utc: datetime
    start_local: datetime
    end_local: datetime

    @property
    def minutes(self) -> float:
        """Its length in minutes."""
        return (self.end_utc - self.start_utc).total_seconds() / 60


@dataclass(frozen=True)
class Segment:
    """A stretch of time one poll vouches for, and the business minutes it counted per window."""

    start_utc: datetime | None  # None: from the beginning of time (back-fill)
    end_utc: datetime | None    # None: until further notice (no later poll)
    active: bool
    business_minutes: dict[str, float]


@dataclass
class Explanation:
    """Everything behind one store's report row."""

    store_id: str
    zone: str
    zone_is_default: bool
    hours_rows: list[tuple[int, str, str]]  # (day, start, end) as loaded; empty: 24x7
    now: datetime
    windows: dict[str, tuple[datetime, datetime]]
    intervals: dict[str, list[Interval]] = field(default_factory=dict)
    polls: list[tuple[datetime, bool]] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    row: dict[str, float] = field(default_factory=dict)


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def explain(db: Engine, stores_settings: StoresSettings, store_id: str,
            now_us: int | None = None) -> Explanation:
    """Business intervals per window, polls, segments and the resulting row for one store."""
    if not _possible_id(store_id):  # no such row can exist; a database driver would choke on it
        raise UnknownStore(f"no store {store_id[:80]!r}: a store id is 1 to {schema.MAX_ID} "
                           "characters of UTF-8, without NUL")
    with db.connect() as conn:
        now_us = now_us if now_us is not None else queries.latest_poll_us(conn)
        if now_us is None:
            raise UnknownStore("no polls loaded yet")
        inputs = queries.report_inputs(conn, now_us, stores_settings.stores_default_timezone,
                                       [store_id])
    if inputs.stores.height == 0:
        raise UnknownStore(f"store {store_id!r} has no polls up to {_utc(now_us).isoformat()}")
    zone_name = inputs.stores["zone"][0]
    with db.connect() as conn:
        from sqlalchemy import select

        from kpiflow.packs.stores.tables import stores

        loaded_zone = conn.execute(
            select(stores.c.timezone).where(stores.c.store_id == store_id)).scalar()
    zone = ZoneInfo(zone_name)
    bounds = rep.window_bounds(now_us)
    ex = Explanation(
        store_id=store_id, zone=zone_name, zone_is_default=loaded_zone is None,
        hours_rows=[(d, _clock(s), _clock(e)) for d, s, e in
                    inputs.hours.sort("day", "start_s").select("day", "start_s", "end_s").iter_rows()],
        now=_utc(now_us), windows={k: (_utc(a), _utc(b)) for k, (a, b) in bounds.items()})
    lo, hi = bounds["week"]
    weekly = business.weekly_rows(inputs.hours, inputs.stores["store_key"])
    merged = business.utc_intervals(weekly, inputs.stores.select("store_key", "zone"), lo, hi)
    segments = rep.status_segments(inputs.polls, None)
    held: dict[str, np.ndarray] = {}
    for name, (w_lo, w_hi) in bounds.items():
        clipped = merged.with_columns(pl.col("start_us").clip(w_lo, w_hi),
                                      pl.col("end_us").clip(w_lo, w_hi)).filter(
            pl.col("end_us") > pl.col("start_us"))
        starts, ends = clipped["start_us"].to_numpy(), clipped["end_us"].to_numpy()
        ex.intervals[name] = [
            Interval(_utc(a), _utc(b), _utc(a).astimezone(zone), _utc(b).astimezone(zone))
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
        a = np.clip(segments["start_us"].to_numpy(), lo, hi)
        b = np.clip(segments["end_us"].to_numpy(), lo, hi)
        held[name] = (rep.business_before(starts, ends, b)
                      - rep.business_before(starts, ends, a)) / rep.MINUTE_US
    for i, (start, end, active) in enumerate(
            segments.select("start_us", "end_us", "active").iter_rows()):
        ex.segments.append(Segment(
            None if start <= -rep.FOREVER // 2 else _utc(start),
            None if end >= rep.FOREVER // 2 else _utc(end), bool(active),
            {name: float(held[name][i]) for name in bounds}))
    ex.polls = [(_utc(t), bool(s)) for t, s in inputs.polls.select("ts_us", "active").iter_rows()]
    numbers = rep.compute(inputs)
    ex.row = rep.to_table(numbers, detail=True).row(0, named=True)
    return ex


def _joined(pieces: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for start, end in sorted(pieces):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def week_timeline(ex: Explanation) -> dict[str, object]:
    """The week as lanes of local days, for the dashboard's timeline.

    Each lane is one local date [midnight, next midnight) of the store's zone (23 or 25 hours on
    DST days); everything in it is in hours since that midnight: business intervals, the up and
    down parts of them, and the polls.
    """
    zone = ZoneInfo(ex.zone)
    lo, hi = ex.windows["week"]
    business = [(i.start_utc, i.end_utc) for i in ex.intervals["week"]]
    segments = [(s.start_utc or lo, s.end_utc or hi, s.active) for s in ex.segments]
    lanes = []
    day = lo.astimezone(zone).date()
    while True:
        start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(),
                               tzinfo=zone).astimezone(UTC)
        if start >= hi:
            break
        a, b = max(start, lo), min(end, hi)

        def hours(t: datetime, origin: datetime = start) -> float:
            return round((t - origin).total_seconds() / 3600, 4)

        lane: dict[str, object] = {
            "date": day.isoformat(), "weekday": day.strftime("%a"), "length": hours(end),
            "window": [hours(a), hours(b)], "business": [], "up": [], "down": [], "polls": []}
        for bs, be in business:
            s, e = max(bs, a), min(be, b)
            if e <= s:
                continue
            lane["business"].append([hours(s), hours(e)])  # type: ignore[attr-defined]
            for ss, se, active in segments:
                x, y = max(s, ss), min(e, se)
                if y > x:
                    lane["up" if active else "down"].append(  # type: ignore[attr-defined]
                        [hours(x), hours(y)])
        for kind in ("up", "down"):  # one bar for touching pieces of the same status
            lane[kind] = _joined(lane[kind])  # type: ignore[arg-type]
        lane["polls"] = [[hours(t), up] for t, up in ex.polls if a <= t < b]
        lanes.append(lane)
        day += timedelta(days=1)
    return {"store_id": ex.store_id, "zone": ex.zone, "zone_is_default": ex.zone_is_default,
            "now": ex.now.isoformat(), "hours_rows": ex.hours_rows, "lanes": lanes,
            "row": ex.row}
