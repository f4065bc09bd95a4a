"""Deterministic, realistic network sample files in the seed naming scheme.

Services and cells are Zipf-skewed; subscribers have a home cell, return across intervals
(a heavy-tailed few are very active) and sometimes roam to another cell, so that hourly
distinct counts differ from sums of 5-minute counts, as in real traffic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from kpiflow.packs.network.schema import COLUMNS, FIVE_MINUTES_MS

MSISDN_BASE = 306_900_000_000
ROAMING = 0.15


@dataclass(frozen=True)
class Universe:
    """Who and what exists: subscriber home cells and the popularity of each entity."""

    homes: np.ndarray
    sub_p: np.ndarray
    cell_p: np.ndarray
    svc_p: np.ndarray


def _zipf_weights(n: int, s: float, offset: float = 1.0) -> np.ndarray:
    w: np.ndarray = 1.0 / (np.arange(n) + offset) ** s
    weights: np.ndarray = w / w.sum()
    return weights


def make_universe(rows_per_interval: int, seed: int) -> Universe:
    """Entity counts scale with the volume, capped at realistic sizes."""
    rng = np.random.default_rng([seed, 1])
    n_subs = int(min(500_000, max(50, rows_per_interval * 2)))
    n_cells = int(min(5_000, max(8, rows_per_interval // 25)))
    n_svcs = int(min(300, max(6, rows_per_interval // 200)))
    cell_p = _zipf_weights(n_cells, 0.9)
    homes = rng.choice(n_cells, size=n_subs, p=cell_p)
    return Universe(homes, _zipf_weights(n_subs, 0.6, 20.0), cell_p, _zipf_weights(n_svcs, 1.2))


def interval_frame(u: Universe, start_ms: int, rows: int, seed: int) -> pl.DataFrame:
    """The rows of one 5-minute interval."""
    rng = np.random.default_rng([seed, 2, start_ms // FIVE_MINUTES_MS])
    subs = rng.choice(len(u.homes), size=rows, p=u.sub_p)
    roam = rng.random(rows) < ROAMING
    cells = np.where(roam, rng.choice(len(u.cell_p), size=rows, p=u.cell_p), u.homes[subs])
    services = rng.choice(len(u.svc_p), size=rows, p=u.svc_p)
    uplink = rng.lognormal(7.0, 1.8, rows).astype(np.int64)
    downlink = (uplink * rng.uniform(1.0, 12.0, rows)).astype(np.int64)
    return pl.DataFrame({
        COLUMNS[0]: np.full(rows, start_ms, dtype=np.int64),
        COLUMNS[1]: np.full(rows, start_ms + FIVE_MINUTES_MS, dtype=np.int64),
        "msisdn": subs.astype(np.int64) + MSISDN_BASE,
        "bytes_uplink": uplink,
        "bytes_downlink": downlink,
        "service_id": services.astype(np.int64) + 1,
        "cell_id": cells.astype(np.int64) + 1000,
    })


def file_name(end_ms: int, part: int) -> str:
    """`ipflow_data.ts-<interval END ms>.<part>.txt`, as the seed systems name files."""
    return f"ipflow_data.ts-{end_ms}.{part}.txt"


def generate(
    out: Path,
    start: datetime,
    hours: float,
    rows_per_interval: int,
    parts: int,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the files (one folder per UTC day) and return their paths."""
    first = int(start.astimezone(UTC).timestamp() * 1000)
    first -= first % FIVE_MINUTES_MS
    intervals = round(hours * 12)
    universe = make_universe(rows_per_interval, seed)
    written = []
    for i, start_ms in enumerate(range(first, first + intervals * FIVE_MINUTES_MS, FIVE_MINUTES_MS)):
        frame = interval_frame(universe, start_ms, rows_per_interval, seed)
        day = datetime.fromtimestamp(start_ms / 1000, UTC).strftime("%Y-%m-%d")
        folder = out / day
        folder.mkdir(parents=True, exist_ok=True)
        for part, chunk in enumerate(_split(frame, parts), start=1):
            target = folder / file_name(start_ms + FIVE_MINUTES_MS, part)
            tmp = folder / f".{target.name}.tmp"  # in flight: a pass running now ignores it
            chunk.write_csv(tmp)
            os.replace(tmp, target)
            written.append(target)
        if progress:
            progress(i + 1, intervals)
    return written


def _split(frame: pl.DataFrame, parts: int) -> Iterator[pl.DataFrame]:
    size = -(-frame.height // parts)
    for k in range(parts):
        yield frame.slice(k * size, size)
