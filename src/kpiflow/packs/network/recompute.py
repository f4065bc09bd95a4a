"""KPIs recomputed from the partial state: every dirty 5-minute interval and its whole hour.

One transaction per hour upserts the new ranks and clears that hour's dirty marks, so a crash
leaves each hour either as it was or fully updated, and the next pass finishes the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, select

from kpiflow.engine.base import Engine as KpiEngine
from kpiflow.engine.base import Source
from kpiflow.errors import KpiOverflow
from kpiflow.ingest import ledger
from kpiflow.packs.network import partials
from kpiflow.packs.network.kpis import KPIS, Kpi
from kpiflow.packs.network.schema import FIVE_MINUTES_MS, HOUR_MS, INT64_MAX, START
from kpiflow.packs.network.tables import content_intervals, dirty_intervals
from kpiflow.state import StateStore
from kpiflow.store.upsert import upsert

PACK = "network"


def _active_contents(conn: Connection, lo: int, hi: int) -> dict[int, list[str]]:
    """Contents that count, by 5-minute interval with valid rows in [lo, hi)."""
    ci = content_intervals.c
    stmt = select(ci[START], ci.sha256).where(
        and_(ci[START] >= lo, ci[START] < hi, ci.rows > 0,
             ci.sha256.in_(ledger.counted_contents(PACK)))
    )
    by_interval: dict[int, list[str]] = defaultdict(list)
    for start, sha in conn.execute(stmt):
        by_interval[start].append(sha)
    return by_interval


def recompute_dirty(
    db: Engine,
    store: StateStore,
    top_n: int,
    kpi_engine: KpiEngine,
    progress: Callable[[str, int, int], None],
    checkpoint: Callable[[str], None],
) -> tuple[int, int]:
    """Recompute every dirty interval and its hour; returns (intervals, hours) updated."""
    intervals_updated = 0
    with db.connect() as conn:
        dirty = sorted(conn.scalars(select(dirty_intervals.c[START])))
    hours: dict[int, list[int]] = defaultdict(list)
    for start in dirty:
        hours[start - start % HOUR_MS].append(start)
    for done, (hour, starts) in enumerate(sorted(hours.items())):
        progress("hours", done, len(hours))
        with db.connect() as conn:
            contents = _active_contents(conn, hour, hour + HOUR_MS)
        results: list[tuple[Kpi, int, int, list[tuple[Any, ...]]]] = []
        for kpi in KPIS:
            for start in starts:
                rows = _compute(kpi_engine, store, kpi, contents.get(start, []), start,
                                FIVE_MINUTES_MS, top_n)
                results.append((kpi, start, FIVE_MINUTES_MS, rows))
            every = sorted({sha for shas in contents.values() for sha in shas})
            results.append((kpi, hour, HOUR_MS, _compute(kpi_engine, store, kpi, every, hour,
                                                         HOUR_MS, top_n)))
        with db.begin() as conn:
            for kpi, start, length, rows in results:
                _write_kpi(conn, kpi, start, length, rows)
                checkpoint("kpi_upsert")
            conn.execute(delete(dirty_intervals).where(dirty_intervals.c[START].in_(starts)))
        checkpoint("hour_committed")
        intervals_updated += len(starts)
    progress("hours", len(hours), len(hours))
    return intervals_updated, len(hours)


def _compute(
    kpi_engine: KpiEngine,
    store: StateStore,
    kpi: Kpi,
    shas: list[str],
    start: int,
    length: int,
    top_n: int,
) -> list[tuple[Any, ...]]:
    kind = partials.BYTES if kpi.source == "service_bytes" else partials.PAIRS
    source = Source([store.path(s, kind) for s in sorted(shas)], START, start, start + length)
    params = {"bucket_ms": length, "top_n": top_n}
    return kpi_engine.query(kpi.sql, params, {kpi.source: source})


def _write_kpi(
    conn: Connection, kpi: Kpi, start: int, length: int, rows: list[tuple[Any, ...]]
) -> None:
    """Upsert ranks 1..k of one interval and drop ranks beyond k left from earlier values."""
    records = []
    for _bucket, rank, ident, value in rows:
        if value > INT64_MAX:
            raise KpiOverflow(
                f"{kpi.name} of {ident} at {start} is {value}, beyond a 64-bit column"
            )
        records.append({
            "interval_start_timestamp": start, "interval_end_timestamp": start + length,
            "interval": length // 60_000, "rank": rank,
            kpi.id_column: ident, kpi.value_column: int(value),
        })
    upsert(conn, kpi.table, records, key=("interval_start_timestamp", "interval", "rank"))
    t = kpi.table.c
    conn.execute(
        delete(kpi.table).where(
            t.interval_start_timestamp == start,
            t.interval == length // 60_000,
            t.rank > len(records),
        )
    )
