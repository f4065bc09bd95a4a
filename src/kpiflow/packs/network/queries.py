"""Reads of the network tables for the API, the CLI and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from kpiflow.ingest.ledger import counted_contents
from kpiflow.packs.network.kpis import Kpi
from kpiflow.packs.network.schema import FIVE_MINUTES_MS, HOUR_MS, INT64_MAX
from kpiflow.packs.network.tables import content_intervals


@dataclass(frozen=True)
class KpiFilter:
    """Which KPI rows to read; every bound is optional, times in Unix ms."""

    interval: int | None = None  # minutes: 5 or 60
    end_timestamp: int | None = None  # exact interval end
    start: int | None = None  # interval_start_timestamp >= start
    end: int | None = None  # interval_end_timestamp <= end
    limit: int = 100
    offset: int = 0


def _kpi_select(kpi: Kpi, f: KpiFilter, *columns: Any) -> Select[Any]:
    t = kpi.table.c
    conds = []
    if f.interval is not None:
        conds.append(t.interval == f.interval)
    if f.end_timestamp is not None:
        conds.append(t.interval_end_timestamp == f.end_timestamp)
    if f.start is not None:
        conds.append(t.interval_start_timestamp >= f.start)
    if f.end is not None:
        conds.append(t.interval_end_timestamp <= f.end)
    return select(*columns).where(and_(True, *conds))


def kpi_rows(conn: Connection, kpi: Kpi, f: KpiFilter) -> list[dict[str, Any]]:
    """One page of KPI rows, newest interval first, then 5-minute before hourly, then rank."""
    t = kpi.table.c
    cols = (t.id, t.interval_start_timestamp, t.interval_end_timestamp, t.interval, t.rank,
            t[kpi.id_column], t[kpi.value_column])
    stmt = (
        _kpi_select(kpi, f, *cols)
        .order_by(t.interval_start_timestamp.desc(), t.interval, t.rank)
        .limit(f.limit)
        .offset(f.offset)
    )
    return [dict(row._mapping) for row in conn.execute(stmt)]


def kpi_count(conn: Connection, kpi: Kpi, f: KpiFilter) -> int:
    """How many KPI rows match the filter (for pagination)."""
    return int(conn.execute(_kpi_select(kpi, f, func.count())).scalar_one())


def latest_interval(conn: Connection, kpi: Kpi, interval: int) -> int | None:
    """Start of the newest interval of the given length that has KPI rows."""
    t = kpi.table.c
    stmt = select(func.max(t.interval_start_timestamp)).where(t.interval == interval)
    newest: int | None = conn.execute(stmt).scalar_one()
    return newest


def coverage(
    conn: Connection, interval: int, start: int | None, end: int | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Per interval (5) or hour (60): files, valid rows, bad rows and 5-minute intervals with data.

    An hour is complete when all 12 of its intervals have valid rows.
    """
    ci = content_intervals.c
    length = FIVE_MINUTES_MS if interval == 5 else HOUR_MS
    bucket = (ci.interval_start_timestamp - ci.interval_start_timestamp % length).label("bucket")
    conds: list[ColumnElement[bool]] = [ci.sha256.in_(counted_contents("network"))]
    if start is not None:
        conds.append(ci.interval_start_timestamp >= start)
    if end is not None:
        conds.append(ci.interval_start_timestamp < end)
    stmt = (
        select(
            bucket,
            func.count(func.distinct(ci.sha256)).label("files"),
            func.sum(ci.rows).label("rows"),
            func.sum(ci.bad_rows).label("bad_rows"),
        )
        .where(and_(*conds))
        .group_by(bucket)
        .order_by(bucket.desc())
        .limit(limit)
        .offset(offset)
    )
    out = []
    for row in conn.execute(stmt):
        out.append({
            "interval_start_timestamp": int(row.bucket),
            "interval_end_timestamp": int(row.bucket) + length,
            "interval": interval,
            "files": int(row.files),
            "rows": int(row.rows),
            "bad_rows": int(row.bad_rows),
        })
    _add_intervals_with_data(conn, out, conds, length)
    return out


def _add_intervals_with_data(
    conn: Connection, out: list[dict[str, Any]], conds: list[Any], length: int
) -> None:
    if not out:
        return
    ci = content_intervals.c
    lo = min(r["interval_start_timestamp"] for r in out)
    hi = max(r["interval_end_timestamp"] for r in out)
    stmt = (
        select(ci.interval_start_timestamp)
        .where(and_(*conds, ci.rows > 0, ci.interval_start_timestamp >= lo,
                    ci.interval_start_timestamp < hi))
        .distinct()
    )
    present: dict[int, int] = {}
    for (start,) in conn.execute(stmt):
        bucket = start - start % length
        present[bucket] = present.get(bucket, 0) + 1
    expected = length // FIVE_MINUTES_MS
    for r in out:
        r["intervals_with_data"] = present.get(r["interval_start_timestamp"], 0)
        r["complete"] = r["intervals_with_data"] == expected


# --- dashboard reads: one interval's top ids, stepping, and one id's series over a range -----

# Bucket widths a downsampled series may use (ms): every one is a multiple of an hour or of
# five minutes, so buckets hold whole intervals.
SERIES_BUCKETS_MS = (
    FIVE_MINUTES_MS, 3 * FIVE_MINUTES_MS, 6 * FIVE_MINUTES_MS, HOUR_MS, 3 * HOUR_MS,
    6 * HOUR_MS, 12 * HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS, 28 * 24 * HOUR_MS,
)


def _range_conds(kpi: Kpi, interval: int, start: int | None, end: int | None) -> list[Any]:
    """Intervals starting in [start, end), said with the end column: every row's end is its
    start plus the interval, and (interval, interval_end_timestamp) is indexed, so min, max
    and neighbours are index seeks and a range is an index range scan."""
    t = kpi.table.c
    length = interval * 60_000
    conds: list[Any] = [t.interval == interval]
    if start is not None:
        conds.append(t.interval_end_timestamp >= min(start + length, INT64_MAX))
    if end is not None and end + length <= INT64_MAX:
        conds.append(t.interval_end_timestamp < end + length)
    return conds


def interval_extent(
    conn: Connection, kpi: Kpi, interval: int, start: int | None = None, end: int | None = None
) -> tuple[int | None, int | None, int]:
    """First and last interval start with rows in [start, end), and how many intervals."""
    t = kpi.table.c
    length = interval * 60_000
    conds = _range_conds(kpi, interval, start, end)
    # min and max apart: each is then a single index seek
    first = conn.execute(select(func.min(t.interval_end_timestamp)).where(*conds)).scalar_one()
    if first is None:
        return None, None, 0
    last = conn.execute(select(func.max(t.interval_end_timestamp)).where(*conds)).scalar_one()
    count = conn.execute(
        select(func.count(func.distinct(t.interval_end_timestamp))).where(*conds)).scalar_one()
    return int(first) - length, int(last) - length, int(count)


def neighbour_interval(
    conn: Connection,
    kpi: Kpi,
    interval: int,
    at: int,
    step: int,
    start: int | None = None,
    end: int | None = None,
) -> int | None:
    """Start of the interval with rows at or before `at` (step 0; else the first after it),
    the one starting before `at` (step -1) or the one starting after it (step +1), within
    [start, end)."""
    t = kpi.table.c
    length = interval * 60_000
    col = t.interval_end_timestamp
    mark = min(at + length, INT64_MAX)  # the end of an interval that starts at `at`
    conds = _range_conds(kpi, interval, start, end)
    before = select(func.max(col)).where(*conds, col <= mark if step == 0 else col < mark)
    after = select(func.min(col)).where(*conds, col >= mark if step == 0 else col > mark)
    if step > 0:
        found = conn.execute(after).scalar_one()
    else:
        found = conn.execute(before).scalar_one()
        if found is None and step == 0:
            found = conn.execute(after).scalar_one()
    return None if found is None else int(found) - length


def series_bucket_ms(interval: int, start: int, end: int, max_points: int) -> int:
    """The narrowest bucket, no shorter than the interval, that keeps the series to
    `max_points` points or fewer (whole multiples of the widest bucket past it)."""
    length = interval * 60_000
    for bucket in SERIES_BUCKETS_MS:
        if bucket >= length and -(-(end - start) // bucket) <= max_points:
            return bucket
    widest = SERIES_BUCKETS_MS[-1]  # beyond 28-day buckets: whole multiples of them
    return -(-(end - start) // (max_points * widest)) * widest


def id_series(
    conn: Connection, kpi: Kpi, interval: int, ident: int, start: int, end: int, max_points: int
) -> dict[str, Any]:
    """One id's value per interval over [start, end), rolled up into buckets when the range
    holds more than `max_points` intervals: per bucket the mean, min and max of the
    intervals where the id is in the top N, and how many those were (null where none)."""
    t = kpi.table.c
    first_start, last_start, _ = interval_extent(conn, kpi, interval, start, end)
    if first_start is not None and last_start is not None:  # only the span that has data
        start, end = max(start, first_start), min(end, last_start + interval * 60_000)
    bucket_ms = series_bucket_ms(interval, start, end, max_points)
    bucket = (t.interval_start_timestamp - t.interval_start_timestamp % bucket_ms).label("b")
    value = t[kpi.value_column]
    stmt = (
        select(bucket, func.avg(value), func.min(value), func.max(value), func.count())
        .where(*_range_conds(kpi, interval, start, end), t[kpi.id_column] == ident)
        .group_by(bucket)
    )
    found = {int(b): (float(mean), int(lo), int(hi), int(n)) for b, mean, lo, hi, n in
             conn.execute(stmt)}
    first = start - start % bucket_ms
    times = list(range(first, end, bucket_ms))
    columns: dict[str, list[Any]] = {"t": times, "mean": [], "min": [], "max": [], "n": []}
    for moment in times:
        mean, lo, hi, n = found.get(moment, (None, None, None, 0))
        columns["mean"].append(mean)
        columns["min"].append(lo)
        columns["max"].append(hi)
        columns["n"].append(n)
    return {"bucket_ms": bucket_ms, "intervals_per_bucket": bucket_ms // (interval * 60_000),
            **columns}
