"""Realistic polls for real hours and timezone files: about one poll per store per hour.

Every store named in the hours or timezones file is polled hourly with jitter; a poll is missed
now and then (MISS), stores are mostly up, and outages come in runs (a two-state Markov chain per
store: up -> down with P_DOWN per hour, down -> up with P_UP). Deterministic for a given seed.
Timestamps look like the seed data: `2023-01-24 09:06:42.605777 UTC`, trailing zeros dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from kpiflow.ingest.discover import read_regular
from kpiflow.packs.stores.jobs import write_atomic

MISS = 0.2
P_DOWN = 0.02
P_UP = 0.35
HOUR_US = 3_600_000_000


def store_ids(hours_file: Path | None, timezones_file: Path | None,
              read_timeout: float | None = None) -> list[str]:
    """Distinct store ids of the given files, sorted (the first column of each).

    Raises OSError (not readable, not a regular file) or ValueError (not a CSV)."""
    ids: set[str] = set()
    for path in (hours_file, timezones_file):
        if path is not None:
            # Only a regular file, read within the time limit: never a FIFO that blocks.
            data = read_regular(path, read_timeout)
            try:
                frame = pl.read_csv(data, infer_schema=False, columns=[0])
            except pl.exceptions.PolarsError as exc:  # callers need not import polars
                raise ValueError(str(exc)) from exc
            ids.update(frame.to_series().str.strip_chars().to_list())
    return sorted(i for i in ids if i)


def generate(ids: list[str], start: datetime, days: float, seed: int, out: Path) -> int:
    """Write polls for `ids` over `days` from `start` to `out`; returns the number of polls."""
    rng = np.random.default_rng(seed)
    n_hours = max(1, round(days * 24))
    n = len(ids)
    start_us = int(start.astimezone(UTC).timestamp() * 1_000_000)
    up = np.empty((n_hours, n), dtype=bool)
    state = rng.random(n) > 0.05
    for h in range(n_hours):
        flip = rng.random(n)
        state = np.where(state, flip >= P_DOWN, flip < P_UP)
        up[h] = state
    polled = rng.random((n_hours, n)) >= MISS
    jitter = rng.integers(0, HOUR_US, size=(n_hours, n))
    hour_idx, store_idx = np.nonzero(polled)
    ts = start_us + hour_idx.astype(np.int64) * HOUR_US + jitter[hour_idx, store_idx]
    frame = pl.DataFrame({
        "store_id": pl.Series(ids, dtype=pl.String).gather(store_idx),
        "status": np.where(up[hour_idx, store_idx], "active", "inactive"),
        "timestamp_utc": pl.Series(ts).cast(pl.Datetime("us")),
    }).sort("timestamp_utc")
    text = (pl.col("timestamp_utc").dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
            .str.replace(r"\.?0+$", "") + " UTC")
    write_atomic(out, frame.with_columns(timestamp_utc=text).write_csv())
    return frame.height
