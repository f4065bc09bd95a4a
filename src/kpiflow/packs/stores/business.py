"""Business hours as UTC intervals: local weekly hours, expanded per local date with zoneinfo.

The rules, in the order they are applied:
1. A store with no hours rows is open 24x7: it gets the row 00:00-24:00 for each of the 7 days.
   A store with some rows is closed on the days it has no row for.
2. An end of `23:59:59` (or `24:00:00`) means the end of the day, 24:00.
3. An end at or before the start means the shift runs past midnight into the next local day.
4. Each row applies to every local date of its weekday (0 = Monday); its local start and end
   become UTC instants with the store's zone (missing: the default zone). zoneinfo does this per
   date, so a shift keeps its wall-clock times across a DST change: 09:00-17:00 is 8 real hours
   on either side, and 00:00-24:00 on the night clocks go forward is 23 hours. A wall time that
   does not exist or occurs twice is read as PEP 495 `fold=0` (the offset before the change).
5. The intervals are clipped to the window and overlapping or touching ones of a store are
   merged, so that split shifts all count and overlapping rows never count twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl

DAY_SECONDS = 86_400
END_OF_DAY_MARKERS = (86_399, 86_400)  # 23:59:59 and 24:00:00
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)

OPEN_ALL_WEEK = pl.DataFrame(
    {"day": list(range(7)), "start_s": [0] * 7, "end_s": [DAY_SECONDS] * 7},
    schema={"day": pl.Int16, "start_s": pl.Int32, "end_s": pl.Int32},
)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def wall_to_utc_us(zone: str, day: date, seconds: int) -> int:
    """The UTC instant (Unix us) of local wall time `seconds` after midnight of `day` in `zone`."""
    local = datetime.combine(day, time(), tzinfo=_zone(zone)) + timedelta(seconds=seconds)
    # `+ timedelta` on an aware datetime moves the wall clock; the offset is then looked up
    # for the resulting wall time (fold=0), which is what a shift's start and end mean.
    return (local - EPOCH) // US


def weekly_rows(hours: pl.DataFrame, store_keys: pl.Series) -> pl.DataFrame:
    """Hours rows of each store in `store_keys` with rules 1-3 applied: end_s > start_s."""
    have = hours.filter(pl.col("store_key").is_in(store_keys.implode()))
    without = store_keys.filter(~store_keys.is_in(have["store_key"].unique().implode()))
    all_week = pl.DataFrame({"store_key": without}).join(OPEN_ALL_WEEK, how="cross")
    rows = pl.concat([have.select(all_week.columns).cast(all_week.schema), all_week])
    end = pl.col("end_s")
    return rows.with_columns(
        end_s=pl.when(end.is_in(END_OF_DAY_MARKERS)).then(DAY_SECONDS)   # rule 2
        .when(end <= pl.col("start_s")).then(end + DAY_SECONDS)           # rule 3
        .otherwise(end)
    )


def utc_intervals(
    weekly: pl.DataFrame, zones: pl.DataFrame, lo_us: int, hi_us: int
) -> pl.DataFrame:
    """Disjoint, sorted UTC intervals [start_us, end_us) within [lo_us, hi_us) per store.

    `weekly` is weekly_rows(); `zones` maps every store_key to its zone name (column `zone`).
    """
    first = datetime.fromtimestamp(lo_us / 1e6, UTC).date() - timedelta(days=2)
    last = datetime.fromtimestamp(hi_us / 1e6, UTC).date() + timedelta(days=1)
    dates = pl.DataFrame({"local_date": pl.date_range(first, last, eager=True)}).with_columns(
        day=(pl.col("local_date").dt.weekday() - 1).cast(pl.Int16))  # polars: Monday = 1
    shifts = (weekly.join(zones, on="store_key", how="left")          # rule 4
              .join(dates, on="day", how="inner"))
    start = _to_utc(shifts.select("zone", "local_date", s=pl.col("start_s")))
    end = _to_utc(shifts.select("zone", "local_date", s=pl.col("end_s")))
    intervals = shifts.select("store_key").with_columns(
        start_us=start.clip(lo_us, hi_us), end_us=end.clip(lo_us, hi_us)
    ).filter(pl.col("end_us") > pl.col("start_us"))
    return merge_overlaps(intervals)


def _to_utc(walls: pl.DataFrame) -> pl.Series:
    """Convert (zone, local_date, s) rows; zoneinfo runs once per distinct triple."""
    distinct = walls.unique()
    converted = distinct.with_columns(
        pl.Series("utc_us", [wall_to_utc_us(z, d, s) for z, d, s in distinct.iter_rows()],
                  dtype=pl.Int64))
    return walls.join(converted, on=["zone", "local_date", "s"], how="left",
                      maintain_order="left")["utc_us"]


def merge_overlaps(intervals: pl.DataFrame) -> pl.DataFrame:
    """Rule 5: per store, merge intervals that overlap or touch into disjoint ones.

    Sorted by start, an interval opens a new run when it starts after every earlier interval
    of the same store has ended; the runs are the merged intervals.
    """
    ordered = intervals.sort("store_key", "start_us")
    ended_before = (pl.col("end_us").cum_max().shift(1).over("store_key"))
    runs = ordered.with_columns(
        new_run=(ended_before.is_null() | (pl.col("start_us") > ended_before)).cast(pl.Int32)
    ).with_columns(run=pl.col("new_run").cum_sum())
    return (runs.group_by("store_key", "run", maintain_order=True)
            .agg(pl.col("start_us").min(), pl.col("end_us").max())
            .select("store_key", "start_us", "end_us"))
