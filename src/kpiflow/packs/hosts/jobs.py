"""The pack's jobs: compact buffered samples into Parquet, evaluate alarms, apply retention."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import polars as pl
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from kpiflow.packs.hosts import alarm_window, rawstore, watermarks
from kpiflow.packs.hosts import alarms as rules_mod
from kpiflow.packs.hosts.alarm_window import SeriesKey, Window
from kpiflow.packs.hosts.alarms import Change, Rules, SeriesState
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.packs.hosts.queries import event_json
from kpiflow.packs.hosts.tables import (
    FLUSHED,
    JUDGED,
    PARTIAL_MS,
    alarm_events,
    alarms,
    batches,
    name_partials,
    parquet_files,
    rollups,
    samples,
)
from kpiflow.registry import RunContext, Summary
from kpiflow.store.upsert import upsert

log = logging.getLogger(__name__)

CHUNK = 200_000  # samples compacted per file write (bounded memory)
MINUTE_MS = 60_000
NOTHING_MS = 2**62  # a window filled from no read covers nothing
# The buffer's columns as a flush reads them (samples.value is a percentage, float).
FETCHED = {"id": pl.Int64, "ts_ms": pl.Int64, "host_id": pl.String, "pid": pl.Int64,
           "started_ms": pl.Int64, "name": pl.String, "resource": pl.Int64, "value": pl.Float64}


def rules_of(ps: HostsSettings) -> Rules:
    """The alarm rules the settings give."""
    return Rules(ps.hosts_red_threshold, ps.hosts_red_clear, ps.hosts_hold_seconds,
                 ps.hosts_trend_window_seconds, ps.hosts_trend_horizon_seconds,
                 ps.hosts_trend_min_samples)


@dataclass
class FlushSummary(Summary):
    """What one compaction did."""

    samples: int = 0
    files: int = 0
    bytes: int = 0
    recovered: int = 0
    expired_from_buffer: int = 0


def _int(value: object) -> int:
    """A polars scalar known to be an integer (the min or max of an Int64 column)."""
    if not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def add_rollups(conn: Connection, roll: pl.DataFrame) -> None:
    """Insert 1-minute rollup rows. PostgreSQL takes them by COPY: psycopg sends an executemany
    row by row, and the ~180,000 rollups of a minute at 6,000 values/s were a third of a flush
    there (4.2 of 13 s)."""
    columns = [c.name for c in rollups.columns]
    if conn.dialect.name != "postgresql":
        conn.execute(insert(rollups), roll.select(columns).to_dicts())
        return
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(rollups.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(statement) as copy:
        for row in roll.select(columns).iter_rows():
            copy.write_row(row)


def flush(ctx: RunContext[HostsSettings]) -> FlushSummary:
    """Write unflushed samples to hourly Parquet files and 1-minute rollups; trim the buffer."""
    summary = FlushSummary()
    root = rawstore.raw_root(ctx.state.root)
    with ctx.db.begin() as conn:
        summary.recovered = rawstore.recover(conn, root)
    s = samples.c
    cols = [s.id, s.ts_ms, s.host_id, s.pid, s.started_ms, s.name, s.resource, s.value]
    # One pass takes what had arrived when it started: under a sustained load it would otherwise
    # chase new samples for ever, holding the pack's lock (the alarm job waited behind it).
    with ctx.db.connect() as conn:
        done = watermarks.read(conn, FLUSHED)
        top = conn.execute(select(func.max(s.id))).scalar() or 0
    while done < top:
        with ctx.db.connect() as conn:
            exact = pl.DataFrame(conn.execute(
                select(*cols).where(s.id > done, s.id <= top).order_by(s.id).limit(CHUNK))
                .all(), schema=FETCHED, orient="row")
        if exact.is_empty():
            break
        stored = rawstore.frame(exact)
        files: list[dict[str, Any]] = []
        for part in stored.with_columns((pl.col("ts_ms") // rawstore.HOUR_MS).alias("h")) \
                .partition_by("h", include_key=False):
            hour = int(part["ts_ms"][0]) // rawstore.HOUR_MS * rawstore.HOUR_MS
            name, _, size = rawstore.write_pending(root, hour, part)
            files.append({"name": name, "hour_ms": hour, "rows": part.height, "bytes": size,
                          "min_ms": _int(part["ts_ms"].min()), "max_ms": _int(part["ts_ms"].max())})
        minute = (pl.col("ts_ms") // MINUTE_MS * MINUTE_MS).alias("minute_ms")
        roll = (exact.group_by(minute, "host_id", "pid", "started_ms", "name", "resource")
                .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("value").sum().alias("total"),
                     pl.col("value").max().alias("peak")))
        last = _int(exact["id"].max())
        ctx.safe_point("hosts.flush.commit")
        with ctx.db.begin() as conn:
            watermarks.advance(conn, FLUSHED, done, last)
            add_rollups(conn, roll)
            conn.execute(insert(parquet_files), files)
        for f in files:
            rawstore.publish(root, f["name"])
        done = last
        summary.samples += exact.height
        summary.files += len(files)
        summary.bytes += sum(f["bytes"] for f in files)
    cutoff = round((time.time() - ctx.pack_settings.hosts_hot_seconds) * 1000)
    with ctx.db.begin() as conn:
        summary.expired_from_buffer = conn.execute(
            delete(samples).where(s.id <= watermarks.upto(FLUSHED), s.ts_ms < cutoff)).rowcount
        # get-all reads at most the hot window back (longer windows are refused).
        conn.execute(delete(name_partials).where(name_partials.c.bucket_ms < cutoff
                                                 - PARTIAL_MS))
    return summary


@dataclass
class AlarmSummary(Summary):
    """What one alarm evaluation did."""

    samples: int = 0
    series: int = 0
    changes: int = 0
    delivered: int = 0
    delivery_failures: int = 0


def _state_of(row: Any) -> SeriesState:
    trend = None if row.n < 2 or row.slope_per_min is None else rules_mod.Trend(
        row.slope_per_min, row.r2 or 0.0, row.n,
        None if row.crossing_ms is None else row.crossing_ms / 1000)
    return SeriesState(row.state, row.since_ms / 1000,
                       None if row.red_pending_ms is None else row.red_pending_ms / 1000,
                       None if row.amber_pending_ms is None else row.amber_pending_ms / 1000,
                       row.last_ms / 1000, row.value, trend)


def _ms(t: float | None) -> int | None:
    return None if t is None else round(t * 1000)


def _evidence(value: float, trend: rules_mod.Trend | None, n: int) -> dict[str, Any]:
    return {"value": value,
            "slope_per_min": None if trend is None else trend.slope_per_min,
            "r2": None if trend is None else trend.r2,
            "n": n if trend is None else trend.n,
            "crossing_ms": None if trend is None else _ms(trend.crossing)}


def _state_row(key: SeriesKey, st: SeriesState, now_ms: int) -> dict[str, Any]:
    host_id, pid, started_ms, name, resource = key
    return {"host_id": host_id, "pid": pid, "started_ms": started_ms, "name": name,
            "resource": resource, "state": st.state, "since_ms": _ms(st.since),
            "red_pending_ms": _ms(st.red_pending), "amber_pending_ms": _ms(st.amber_pending),
            "last_ms": _ms(st.last), **_evidence(st.value, st.trend, 1), "evaluated_ms": now_ms}


def _event_row(key: SeriesKey, ch: Change) -> dict[str, Any]:
    host_id, pid, started_ms, name, resource = key
    return {"ts_ms": _ms(ch.at), "host_id": host_id, "pid": pid, "started_ms": started_ms,
            "name": name, "resource": resource, "from_state": ch.before, "to_state": ch.after,
            **_evidence(ch.value, ch.trend, 1), "recorded_at": datetime.now(UTC),
            "delivered": 0, "attempts": 0}


Points = dict[SeriesKey, list[tuple[int, float]]]


def _read_points(conn: Connection, fresh: Sequence[Any], ids: tuple[int, int],
                 window: Window | None, window_ms: int
                 ) -> tuple[Points, dict[SeriesKey, int], Window]:
    """Each series with fresh samples: the samples to step it through, and the window whose
    running fits hold what came before. From this process's window when it is current and
    reaches back far enough (then only the fresh samples are stepped), else from the buffer:
    the judged samples of each trend window come first, as context, and a new window is filled,
    every series in it. Also the newest judged sample of each series (where judging resumes
    for a series with no stored state). `ids`: the judged watermark and the newest fresh id (the
    buffer's samples above it committed after `fresh` was read: not judged nor passed now)."""
    judged, top = ids
    s = samples.c
    points: Points = defaultdict(list)
    judged_last: dict[SeriesKey, int] = {}
    earliest: dict[SeriesKey, int] = {}
    for r in fresh:
        k = (r.host_id, r.pid, r.started_ms, r.name, r.resource)
        earliest[k] = min(earliest.get(k, r.ts_ms), r.ts_ms)
    since = min(earliest.values(), default=NOTHING_MS) - window_ms
    if window is not None and since >= window.covers_from:
        for r in fresh:
            points[(r.host_id, r.pid, r.started_ms, r.name, r.resource)].append((r.ts_ms, r.value))
        for k in points:
            fit = window.series.get(k)
            newest = None if fit is None else fit.newest_ms()
            if newest is not None:
                judged_last[k] = newest
        return points, judged_last, window
    others: dict[SeriesKey, list[tuple[int, float]]] = defaultdict(list)
    if earliest:
        for r in conn.execute(select(s.host_id, s.pid, s.started_ms, s.name, s.resource, s.ts_ms,
                                     s.value, s.id).where(s.ts_ms >= since, s.id <= top)):
            k = (r.host_id, r.pid, r.started_ms, r.name, r.resource)
            if k not in earliest:
                others[k].append((r.ts_ms, r.value))
                continue
            if r.id <= judged:
                judged_last[k] = max(judged_last.get(k, r.ts_ms), r.ts_ms)
            if r.ts_ms >= earliest[k] - window_ms:
                points[k].append((r.ts_ms, r.value))
    filled = Window(covers_from=since)
    for k, pts in others.items():
        pts.sort()
        fit = filled.fit_of(k)
        for t, v in pts:
            if t >= pts[-1][0] - window_ms:
                fit.add(t, v)
    return points, judged_last, filled


def _keep_state(k: SeriesKey, st: SeriesState, stored: dict[SeriesKey, SeriesState],
                rows: list[dict[str, Any]], quiet: list[dict[str, Any]], now_ms: int) -> None:
    """Queue a series' new state for writing, unless it is quiet (OK with no timer running):
    then only its judged samples matter, so its row, if any, is deleted instead (most series
    are quiet; not writing them is most of the job's database work)."""
    if st.state != rules_mod.OK or st.red_pending is not None or st.amber_pending is not None:
        rows.append(_state_row(k, st, now_ms))
    elif k in stored:
        quiet.append(dict(zip(("q_host_id", "q_pid", "q_started_ms", "q_name", "q_resource"), k,
                              strict=True)))


def evaluate(ctx: RunContext[HostsSettings]) -> AlarmSummary:
    """Step every series with new samples through the alarm rules; record state changes."""
    ps = ctx.pack_settings
    rules = rules_of(ps)
    now = time.time()
    s, a = samples.c, alarms.c
    database = ctx.settings.database_url
    window = alarm_window.window_for(database, ctx.checkpoints.get(alarm_window.CHECKPOINT))
    if window is not None:
        window.token = None  # advanced in place below: trusted again only once committed
    window_ms = round(rules.window * 1000)
    with ctx.db.connect() as conn:
        judged = watermarks.read(conn, JUDGED)
        fresh = conn.execute(select(s.id, s.host_id, s.pid, s.started_ms, s.name, s.resource,
                                    s.ts_ms, s.value).where(s.id > judged)).all()
        newest = max((r.id for r in fresh), default=judged)
        points, judged_last, kept = _read_points(conn, fresh, (judged, newest), window, window_ms)
        stored = {(r.host_id, r.pid, r.started_ms, r.name, r.resource): _state_of(r)
                  for r in conn.execute(select(alarms))}
    summary = AlarmSummary(samples=len(fresh), series=len(points))
    state_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    for k, pts in points.items():
        pts.sort()
        before = stored.get(k) or SeriesState(
            last=judged_last[k] / 1000 if k in judged_last else float("-inf"))
        after, changes = rules_mod.advance(before, kept.fit_of(k), pts, rules)
        _keep_state(k, after, stored, state_rows, quiet, round(now * 1000))
        event_rows += [_event_row(k, ch) for ch in changes]
    for k, st in list(stored.items()):
        if k in points:
            continue
        cleared, change = rules_mod.expire(st, now, rules.window)
        if change is not None:
            _keep_state(k, cleared, stored, state_rows, quiet, round(now * 1000))
            event_rows.append(_event_row(k, change))
    summary.changes = len(event_rows)
    # A late batch can bring context back to the hot window: keep what the buffer still has.
    kept.forget_older(round((now - ps.hosts_hot_seconds) * 1000))
    kept.token = alarm_window.new_token()
    ctx.safe_point("hosts.alarms.commit")
    with ctx.db.begin() as conn:
        upsert(conn, alarms, state_rows, key=("host_id", "pid", "started_ms", "name", "resource"))
        if quiet:
            conn.execute(delete(alarms).where(*(c == bindparam("q_" + c.name) for c in (
                a.host_id, a.pid, a.started_ms, a.name, a.resource))), quiet)
        if event_rows:
            conn.execute(insert(alarm_events), event_rows)
        if newest > judged:
            watermarks.advance(conn, JUDGED, judged, newest)
        # An OK series with nothing new for the hot window has nothing left to remember.
        old = round((now - ps.hosts_hot_seconds) * 1000)
        conn.execute(delete(alarms).where(a.state == rules_mod.OK, a.last_ms < old))
        ctx.checkpoints.set(conn, alarm_window.CHECKPOINT, kept.token)
    alarm_window.remember(database, kept)
    summary.delivered, summary.delivery_failures = deliver(ctx.db, ps)
    return summary


def deliver(db: Any, ps: HostsSettings) -> tuple[int, int]:
    """Send undelivered state changes to the webhook, oldest first; each is retried on later
    evaluations until `hosts_webhook_attempts` is spent. Returns (delivered, failed)."""
    if not ps.hosts_webhook_url:
        return 0, 0
    e = alarm_events.c
    headers = {} if ps.hosts_webhook_token is None else {
        "Authorization": f"Bearer {ps.hosts_webhook_token.get_secret_value()}"}
    with db.connect() as conn:
        pending = conn.execute(select(alarm_events).where(
            e.delivered == 0, e.attempts < ps.hosts_webhook_attempts).order_by(e.id).limit(500)).all()
    ok = failed = 0
    with httpx.Client(timeout=5.0, headers=headers) as client:
        for row in pending:
            error = None
            try:
                client.post(ps.hosts_webhook_url, json=event_json(row)).raise_for_status()
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            with db.begin() as conn:
                conn.execute(update(alarm_events).where(e.id == row.id).values(
                    delivered=int(error is None), attempts=row.attempts + 1, last_error=error))
            if error is None:
                ok += 1
            else:
                failed += 1
                break  # keep the order: the next ones wait for this one
    return ok, failed


@dataclass
class RetentionSummary(Summary):
    """What one retention pass removed."""

    files_removed: int = 0
    files_trimmed: int = 0
    samples_removed: int = 0
    rollups_removed: int = 0
    batch_keys_removed: int = 0
    events_removed: int = 0


def _trim_files(conn: Connection, ctx: RunContext[HostsSettings], cutoff_ms: int,
                summary: RetentionSummary) -> list[str]:
    """Drop files wholly older than the cutoff; rewrite files straddling it. Returns the
    obsolete file names to unlink after the commit."""
    f = parquet_files.c
    root = rawstore.raw_root(ctx.state.root)
    gone = []
    for row in conn.execute(select(parquet_files).where(f.min_ms < cutoff_ms)).all():
        conn.execute(delete(parquet_files).where(f.name == row.name))
        gone.append(row.name)
        if row.max_ms < cutoff_ms:
            summary.samples_removed += row.rows
            summary.files_removed += 1
            continue
        kept = pl.read_parquet(root / row.name).filter(pl.col("ts_ms") >= cutoff_ms)
        summary.samples_removed += row.rows - kept.height
        summary.files_trimmed += 1
        name, _, size = rawstore.write_pending(root, row.hour_ms, kept)
        conn.execute(insert(parquet_files), {
            "name": name, "hour_ms": row.hour_ms, "rows": kept.height, "bytes": size,
            "min_ms": _int(kept["ts_ms"].min()), "max_ms": row.max_ms})
        gone.append("+" + name)  # to publish
    return gone


def retention(ctx: RunContext[HostsSettings]) -> RetentionSummary:
    """Remove raw samples older than `hosts_raw_retention_hours` (Parquet and buffer), rollups
    and alarm events older than `hosts_rollup_retention_days`, and old batch keys."""
    ps = ctx.pack_settings
    now = time.time()
    raw_cut = round((now - ps.hosts_raw_retention_hours * 3600) * 1000)
    roll_cut = round((now - ps.hosts_rollup_retention_days * 86400) * 1000)
    summary = RetentionSummary()
    root = rawstore.raw_root(ctx.state.root)
    with ctx.db.begin() as conn:
        rawstore.recover(conn, root)
    ctx.safe_point("hosts.retention.commit")
    with ctx.db.begin() as conn:
        names = _trim_files(conn, ctx, raw_cut, summary)
        # Flushed buffer rows are counted in their files already.
        conn.execute(delete(samples).where(samples.c.ts_ms < raw_cut,
                                           samples.c.id <= watermarks.upto(FLUSHED)))
        summary.samples_removed += conn.execute(
            delete(samples).where(samples.c.ts_ms < raw_cut)).rowcount
        summary.rollups_removed = conn.execute(
            delete(rollups).where(rollups.c.minute_ms < roll_cut)).rowcount
        summary.batch_keys_removed = conn.execute(
            delete(batches).where(batches.c.received_ms < raw_cut)).rowcount
        summary.events_removed = conn.execute(
            delete(alarm_events).where(alarm_events.c.ts_ms < roll_cut)).rowcount
    for name in names:
        if name.startswith("+"):
            rawstore.publish(root, name[1:])
        else:
            (root / name).unlink(missing_ok=True)
    return summary
