"""The uptime report: the status step function measured against business hours, per window.

How a number is made, for one store and one window [now - length, now):
- Business time is the store's merged UTC intervals (business.py) clipped to the window.
- Status is a step function of time: each poll holds from its instant until the next poll;
  before the store's first poll, the first poll holds (back-fill). With `max_hold`, a poll
  vouches for at most that long (forwards, and backwards for the back-fill): the rest of the
  time is unknown.
- `F(t)` = business time of the window before instant t. It is piecewise linear, so one sorted
  search gives it for any t. A status segment [a, b) then holds exactly F(b) - F(a) of
  business time, and uptime is the sum of that over the active segments, downtime over the
  inactive ones. The segments partition time, so up + down (+ unknown) = business, exactly,
  in integer microseconds; rounding to 2 decimals is the last step.

Every store is processed at once with NumPy: store k's instants are placed in its own block
k * SPAN + (t - week start) of one global time axis, so one `searchsorted` serves all stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from kpiflow.packs.stores import business

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
WINDOWS = (("hour", timedelta(hours=1), MINUTE_US),
           ("day", timedelta(days=1), HOUR_US),
           ("week", timedelta(days=7), HOUR_US))
FOREVER = 2**62  # a poll without a next one holds "forever" (well past any window)
COLUMNS = ("store_id", "uptime_last_hour", "uptime_last_day", "uptime_last_week",
           "downtime_last_hour", "downtime_last_day", "downtime_last_week")
BATCH = 2_000  # stores per batch: bounds memory and drives the progress bar

Progress = Callable[[str, int, int], None]


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class Inputs:
    """What a report reads: polls up to now (with each store's last poll before the week),
    weekly hours rows, and every polled store's id and zone."""

    polls: pl.DataFrame   # store_key, ts_us, active (sorted by store_key, ts_us)
    hours: pl.DataFrame   # store_key, day, start_s, end_s
    stores: pl.DataFrame  # store_key, store_id, zone (default filled in)
    now_us: int


def window_bounds(now_us: int) -> dict[str, tuple[int, int]]:
    """[start, end) of each window, in Unix microseconds."""
    return {name: (now_us - length // business.US, now_us) for name, length, _ in WINDOWS}


def status_segments(polls: pl.DataFrame, max_hold_us: int | None) -> pl.DataFrame:
    """The step function as segments [start_us, end_us) with a status, per store.

    Each poll holds until the next poll of its store (or for `max_hold_us` at most); the first
    poll of a store also holds backwards (back-fill), as far as `max_hold_us` allows.
    """
    hold = FOREVER if max_hold_us is None else max_hold_us
    p = polls.sort("store_key", "ts_us")
    next_ts = pl.col("ts_us").shift(-1).over("store_key").fill_null(FOREVER)
    forward = p.select(
        "store_key", "active",
        start_us=pl.col("ts_us"),
        end_us=pl.min_horizontal(next_ts, pl.col("ts_us") + hold),
    )
    first = p.group_by("store_key").agg(pl.col("ts_us").first(), pl.col("active").first())
    backward = first.select(
        "store_key", "active",
        start_us=pl.max_horizontal(pl.col("ts_us") - hold, pl.lit(-FOREVER)),
        end_us=pl.col("ts_us"),
    )
    return pl.concat([backward, forward]).sort("store_key", "start_us")


def business_before(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """F(at): total length of the disjoint sorted intervals [starts, ends) that lies before `at`."""
    if starts.size == 0:
        return np.zeros(at.shape, dtype=np.int64)
    lengths = ends - starts
    done_before = np.concatenate(([0], np.cumsum(lengths)))  # business before interval i
    i = np.searchsorted(starts, at, side="right") - 1           # last interval starting <= at
    inside = np.where(i >= 0, np.clip(at - starts[np.maximum(i, 0)], 0, lengths[np.maximum(i, 0)]), 0)
    return done_before[np.maximum(i, 0)] * (i >= 0) + inside


def measure(
    segments: pl.DataFrame, intervals: pl.DataFrame, n_stores: int, lo_us: int, hi_us: int,
    windows: dict[str, tuple[int, int]],
) -> dict[str, np.ndarray]:
    """Per store index (0..n_stores-1) and window: business, up and down microseconds.

    `segments` and `intervals` carry `idx`, the store's index in this batch.
    """
    span = hi_us - lo_us + 1

    def axis(idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        position: np.ndarray = idx * span + (np.clip(t, lo_us, hi_us) - lo_us)
        return position

    seg_idx = segments["idx"].to_numpy()
    seg_a = axis(seg_idx, segments["start_us"].to_numpy())
    seg_b = axis(seg_idx, segments["end_us"].to_numpy())
    active = segments["active"].to_numpy() == 1
    out: dict[str, np.ndarray] = {}
    for name, (w_lo, w_hi) in windows.items():
        clipped = intervals.with_columns(
            start_us=pl.col("start_us").clip(w_lo, w_hi), end_us=pl.col("end_us").clip(w_lo, w_hi)
        ).filter(pl.col("end_us") > pl.col("start_us"))
        clipped = clipped.sort("idx", "start_us")  # the global axis must be sorted
        b_idx = clipped["idx"].to_numpy()
        starts = axis(b_idx, clipped["start_us"].to_numpy())
        ends = axis(b_idx, clipped["end_us"].to_numpy())
        held = business_before(starts, ends, seg_b) - business_before(starts, ends, seg_a)
        out[f"business_{name}"] = np.bincount(b_idx, ends - starts, n_stores).astype(np.int64)
        out[f"up_{name}"] = np.bincount(seg_idx[active], held[active], n_stores).astype(np.int64)
        out[f"down_{name}"] = np.bincount(seg_idx[~active], held[~active], n_stores).astype(np.int64)
    return out


def compute(
    inputs: Inputs, max_hold_us: int | None = None, progress: Progress = _no_progress,
) -> pl.DataFrame:
    """Integer microseconds per store and window: business_*, up_*, down_*, unknown_*."""
    windows = window_bounds(inputs.now_us)
    lo_us, hi_us = windows["week"]
    stores = inputs.stores.sort("store_id")
    total = stores.height
    parts: list[pl.DataFrame] = []
    progress("stores", 0, total)
    for begin in range(0, total, BATCH):
        batch = stores.slice(begin, BATCH).with_row_index("idx").with_columns(
            pl.col("idx").cast(pl.Int64))
        index = batch.select("store_key", "idx")
        polls = inputs.polls.join(index, on="store_key", how="inner")
        weekly = business.weekly_rows(inputs.hours, batch["store_key"])
        intervals = business.utc_intervals(
            weekly, batch.select("store_key", "zone"), lo_us, hi_us
        ).join(index, on="store_key", how="inner")
        segments = status_segments(polls, max_hold_us).join(index, on="store_key", how="inner")
        numbers = measure(segments, intervals, batch.height, lo_us, hi_us, windows)
        frame = batch.select("store_id").with_columns(
            pl.Series(k, v, dtype=pl.Int64) for k, v in numbers.items())
        parts.append(frame)
        progress("stores", min(begin + BATCH, total), total)
    result = pl.concat(parts) if parts else pl.DataFrame(
        {"store_id": []}, schema={"store_id": pl.String})
    for name, _, _ in WINDOWS:
        if f"business_{name}" not in result.columns:
            result = result.with_columns(
                pl.lit(0, dtype=pl.Int64).alias(f"{k}_{name}") for k in ("business", "up", "down"))
        result = result.with_columns(
            (pl.col(f"business_{name}") - pl.col(f"up_{name}") - pl.col(f"down_{name}"))
            .alias(f"unknown_{name}"))
    return result


def to_table(numbers: pl.DataFrame, detail: bool = False, unknown: bool = False) -> pl.DataFrame:
    """The report's columns: hour in minutes, day and week in hours, rounded to 2 decimals.

    Exactly the statement's 7 columns unless `detail` (business time per window) or
    `unknown` (time no poll vouches for, with --max-hold) add theirs.
    """
    unit = {name: per for name, _, per in WINDOWS}
    cols = [pl.col("store_id")]
    kinds = [("uptime", "up"), ("downtime", "down")]
    if detail:
        kinds.append(("business", "business"))
    if unknown:
        kinds.append(("unknown", "unknown"))
    for label, key in kinds:
        for name, _, _ in WINDOWS:
            cols.append((pl.col(f"{key}_{name}") / unit[name]).round(2)
                        .alias(f"{label}_last_{name}"))
    return numbers.select(cols)


def to_csv(table: pl.DataFrame) -> str:
    """CSV text with 2 decimals."""
    return table.write_csv(float_precision=2)
