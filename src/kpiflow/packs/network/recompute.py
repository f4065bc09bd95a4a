"""KPIs recomputed from the partial state: every dirty 5-minute interval and its whole hour.

One transaction per hour upserts the new ranks and clears that hour's dirty marks, so a crash
leaves each hour either as it was or fully updated, and the next pass finishes the rest.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, select

from kpiflow.engine.base import Engine as KpiEngine
from kpiflow.engine.base import Source
from kpiflow.errors import KpiflowError, KpiOverflow
from kpiflow.ingest import ledger
from kpiflow.packs.network import partials
from kpiflow.packs.network.kpis import KPIS, Kpi
from kpiflow.packs.network.schema import FIVE_MINUTES_MS, HOUR_MS, INT64_MAX, START
from kpiflow.packs.network.tables import content_intervals, dirty_intervals
from kpiflow.state import StateStore
from kpiflow.store.upsert import upsert

PACK = "network"
log = logging.getLogger(__name__)


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


@dataclass
class Recomputed:
    """What recomputation did: intervals and hours written, and those that failed."""

    intervals: int = 0
    hours: int = 0
    failed: list[str] = field(default_factory=list)  # one reason per failed interval or hour


def recompute_dirty(
    db: Engine,
    store: StateStore,
    top_n: int,
    kpi_engine: KpiEngine,
    progress: Callable[[str, int, int], None],
    checkpoint: Callable[[str], None],
) -> Recomputed:
    """Recompute every dirty interval and its hour.

    A KPI that cannot be computed or stored (a sum beyond BIGINT, damaged state) fails alone:
    its old rows are deleted, never left standing as a wrong figure, its interval stays dirty
    (tried again each pass) and the reason is returned; every other interval and hour is written.
    """
    done = Recomputed()
    with db.connect() as conn:
        dirty = sorted(conn.scalars(select(dirty_intervals.c[START])))
    hours: dict[int, list[int]] = defaultdict(list)
    for start in dirty:
        hours[start - start % HOUR_MS].append(start)
    for step, (hour, starts) in enumerate(sorted(hours.items())):
        progress("hours", step, len(hours))
        with db.connect() as conn:
            contents = _active_contents(conn, hour, hour + HOUR_MS)
        every = sorted({sha for shas in contents.values() for sha in shas})
        spans = [(s, FIVE_MINUTES_MS, contents.get(s, [])) for s in starts]
        spans.append((hour, HOUR_MS, every))
        results: list[tuple[Kpi, int, int, list[tuple[Any, ...]]]] = []
        failed: set[int] = set()
        for kpi in KPIS:
            together = _intervals_together(kpi_engine, store, kpi, starts, contents, top_n)
            for start, length, shas in spans:
                try:
                    if length == FIVE_MINUTES_MS and together is not None:
                        rows = together.get(start, [])
                    else:
                        rows = _compute(kpi_engine, store, kpi, shas, start, length, top_n)
                    _check_fits(kpi, start, length, rows)
                except KpiflowError as exc:
                    failed.add(start if length == FIVE_MINUTES_MS else -1)
                    done.failed.append(str(exc))
                    log.warning("network KPI not updated: %s", exc)
                    rows = []
                results.append((kpi, start, length, rows))
        # A failed hour keeps its intervals dirty: the hour is recomputed whenever one is.
        cleared = [] if -1 in failed else [s for s in starts if s not in failed]
        with db.begin() as conn:
            for kpi, start, length, rows in results:
                _write_kpi(conn, kpi, start, length, rows)
                checkpoint("kpi_upsert")
            if cleared:
                conn.execute(delete(dirty_intervals).where(dirty_intervals.c[START].in_(cleared)))
        checkpoint("hour_committed")
        done.intervals += len(starts) - len(failed - {-1})
        done.hours += -1 not in failed
    progress("hours", len(hours), len(hours))
    return done


def _compute(
    kpi_engine: KpiEngine,
    store: StateStore,
    kpi: Kpi,
    shas: list[str],
    start: int,
    length: int,
    top_n: int,
    bucket_ms: int | None = None,
) -> list[tuple[Any, ...]]:
    """The KPI over the contents' rows in [start, start + length), by `bucket_ms` (default
    `length`)."""
    kind = partials.BYTES if kpi.source == "service_bytes" else partials.PAIRS
    for sha in shas:
        store.verify(sha, (kind,))  # a missing or damaged file: StateError naming the content
    source = Source([store.path(s, kind) for s in sorted(shas)], START, start, start + length)
    params = {"bucket_ms": bucket_ms or length, "top_n": top_n}
    return kpi_engine.query(kpi.sql, params, {kpi.source: source})


def _intervals_together(
    kpi_engine: KpiEngine,
    store: StateStore,
    kpi: Kpi,
    starts: list[int],
    contents: dict[int, list[str]],
    top_n: int,
) -> dict[int, list[tuple[Any, ...]]] | None:
    """The KPI of several dirty intervals of one hour in one query (by 5-minute bucket over the
    union of their contents; a content adds no row to an interval it has no rows in), or None
    when there is one interval or the query fails: then each interval is computed alone, so a
    failure stays with its own interval. One query instead of one per interval: a Spark query
    costs about a second however small."""
    if len(starts) < 2:
        return None
    shas = sorted({sha for s in starts for sha in contents.get(s, [])})
    try:
        rows = _compute(kpi_engine, store, kpi, shas, starts[0],
                        starts[-1] + FIVE_MINUTES_MS - starts[0], top_n, FIVE_MINUTES_MS)
    except KpiflowError:
        return None
    by_start: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_start[row[0]].append(row)
    return by_start


def _check_fits(kpi: Kpi, start: int, length: int, rows: list[tuple[Any, ...]]) -> None:
    """Raise KpiOverflow when a value does not fit its BIGINT column."""
    for _bucket, _rank, ident, value in rows:
        if value > INT64_MAX:
            raise KpiOverflow(
                f"{kpi.name} of {ident} in the {length // 60_000}-minute interval starting at "
                f"{start} is {value}, beyond the BIGINT column (2^63-1)"
            )


def _write_kpi(
    conn: Connection, kpi: Kpi, start: int, length: int, rows: list[tuple[Any, ...]]
) -> None:
    """Upsert ranks 1..k of one interval and drop ranks beyond k left from earlier values."""
    records = []
    for _bucket, rank, ident, value in rows:
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
