"""Reads for the API and the page: means, top processes, hosts, history and alarms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Connection, Double, String, and_, cast, func, literal, select, union_all

from kpiflow.packs.hosts import rawstore, watermarks
from kpiflow.packs.hosts.alarms import AMBER, RED, fit
from kpiflow.packs.hosts.tables import (
    FLUSHED,
    MEM,
    PARTIAL_MS,
    RESOURCE_NAMES,
    alarm_events,
    alarms,
    hosts,
    name_partials,
    parquet_files,
    rollups,
    samples,
)

s = samples.c
RAW_HISTORY_MAX_S = 2 * 3600  # up to two hours a chart shows every sample
MAX_POINTS = 720


def host_ids_for_ip(conn: Connection, ip: str) -> list[str]:
    """The hosts whose latest address is `ip`."""
    return list(conn.execute(select(hosts.c.host_id).where(hosts.c.ip == ip)).scalars())


def host_exists(conn: Connection, host_id: str) -> bool:
    """True when the host has sent anything."""
    return conn.execute(select(hosts.c.host_id).where(hosts.c.host_id == host_id)).first() is not None


def means_by_name(conn: Connection, since_ms: int, host_ids: list[str] | None = None
                  ) -> dict[str, list[float | None]]:
    """The seed's `get-all`: per process name, [mem mean, cpu mean] of every sample since.

    For every host, whole 5-second buckets come from the per-name partials and only the part
    of a bucket at the window's start from the raw buffer (one statement: one snapshot); for
    some hosts, from the raw buffer."""
    if host_ids is None:
        p = name_partials.c
        edge = -(-since_ms // PARTIAL_MS) * PARTIAL_MS  # the first bucket wholly in the window
        q: Any = union_all(
            select(p.name, p.resource, func.sum(p.n), func.sum(p.total))
            .where(p.bucket_ms >= edge).group_by(p.name, p.resource),
            select(s.name, s.resource, func.count(), func.sum(s.value))
            .where(s.ts_ms >= since_ms, s.ts_ms < edge).group_by(s.name, s.resource))
    else:
        q = (select(s.name, s.resource, func.count(), func.sum(s.value))
             .where(s.ts_ms >= since_ms, s.host_id.in_(host_ids)).group_by(s.name, s.resource))
    acc: dict[tuple[str, int], list[float]] = {}
    for name, resource, n, total in conn.execute(q):
        a = acc.setdefault((name, resource), [0, 0.0])
        a[0] += int(n)
        a[1] += float(total)
    out: dict[str, list[float | None]] = {}
    for (name, resource), (n, total) in acc.items():
        pair = out.setdefault(name, [None, None])
        pair[0 if resource == MEM else 1] = total / n
    return dict(sorted(out.items()))


def mem_values_by_name(conn: Connection, since_ms: int) -> dict[str, list[float]]:
    """The seed's `get-all-detailed`: per process name, its memory samples, oldest first."""
    out: dict[str, list[float]] = defaultdict(list)
    q = (select(s.name, s.value).where(s.ts_ms >= since_ms, s.resource == MEM)
         .order_by(s.name, s.ts_ms, s.id))
    for name, value in conn.execute(q):
        out[name].append(value)
    return dict(out)


def alarm_colors(conn: Connection) -> dict[str, str]:
    """The seed's `query-alarm/`: per process name in alarm now, RED (worst) or AMBER."""
    out: dict[str, str] = {}
    q = select(alarms.c.name, alarms.c.state).where(alarms.c.state.in_((RED, AMBER)))
    for name, state in conn.execute(q):
        if out.get(name) != RED:
            out[name] = state
    return dict(sorted(out.items()))


def list_hosts(conn: Connection, now_ms: int, window_ms: int) -> list[dict[str, Any]]:
    """Every host with when it was last seen and its sample rate over the window."""
    recent = select(s.host_id, func.count()).where(s.ts_ms >= now_ms - window_ms)
    rates: dict[str, int] = dict(conn.execute(recent.group_by(s.host_id)).all())
    return [{"host_id": r.host_id, "hostname": r.hostname, "ip": r.ip, "cores": r.cores,
             "interval_s": r.interval_s, "first_seen": r.first_ms / 1000,
             "last_seen": r.last_ms / 1000,
             "samples_per_s": rates.get(r.host_id, 0) / (window_ms / 1000)}
            for r in conn.execute(select(hosts).order_by(hosts.c.hostname, hosts.c.host_id))]


def process_means(conn: Connection, since_ms: int, host_id: str | None = None
                  ) -> list[dict[str, Any]]:
    """Per process identity (host, pid, create time, name): cpu and mem means since, samples."""
    q = (select(s.host_id, s.pid, s.started_ms, s.name, s.resource, func.avg(s.value),
                func.count(), func.max(s.ts_ms))
         .where(s.ts_ms >= since_ms).group_by(s.host_id, s.pid, s.started_ms, s.name, s.resource))
    if host_id is not None:
        q = q.where(s.host_id == host_id)
    out: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for host, pid, started, name, resource, mean, n, last in conn.execute(q):
        row = out.setdefault((host, pid, started, name), {
            "host_id": host, "pid": pid, "started": started / 1000, "name": name,
            "cpu": None, "mem": None, "samples": 0, "last_seen": 0.0})
        row[RESOURCE_NAMES[resource]] = float(mean)
        row["samples"] += n
        row["last_seen"] = max(row["last_seen"], last / 1000)
    return list(out.values())


def top(rows: list[dict[str, Any]], by: str, n: int) -> list[dict[str, Any]]:
    """The n processes with the highest mean of `by` (cpu or mem); ties by host, pid."""
    have = [r for r in rows if r[by] is not None]
    return sorted(have, key=lambda r: (-r[by], r["host_id"], r["pid"], r["name"]))[:n]


@dataclass(frozen=True)
class Series:
    """One process's resource: the identity a history is asked for."""

    host_id: str
    pid: int
    started_ms: int
    name: str
    resource: int


def _series_where(cols: Any, series: Series) -> Any:
    return and_(cols.host_id == series.host_id, cols.pid == series.pid,
                cols.started_ms == series.started_ms, cols.name == series.name,
                cols.resource == series.resource)


def _buckets(points: list[tuple[int, int, float, float]], step_ms: int) -> list[dict[str, Any]]:
    """(t_ms, n, total, peak) partials -> one point per bucket: mean, max, samples."""
    acc: dict[int, list[float]] = {}
    for t, n, total, peak in points:
        b = acc.setdefault(t - t % step_ms, [0, 0.0, float("-inf")])
        b[0] += n
        b[1] += total
        b[2] = max(b[2], peak)
    return [{"t": t / 1000, "mean": v[1] / v[0], "max": v[2], "samples": int(v[0])}
            for t, v in sorted(acc.items())]


def history(conn: Connection, state_root: Path, series: Series, window: tuple[int, int],
            threshold: float) -> dict[str, Any]:
    """A series between two instants, at a resolution that fits the range (every sample up to
    two hours, else 1-minute rollups merged into at most MAX_POINTS buckets)."""
    start_ms, end_ms = window
    span = end_ms - start_ms
    unflushed = (s.id > watermarks.upto(FLUSHED), s.ts_ms >= start_ms, s.ts_ms < end_ms,
                 _series_where(s, series))
    if span <= RAW_HISTORY_MAX_S * 1000:
        f = parquet_files.c
        # One statement, so one snapshot: a flush committing meanwhile cannot make a sample
        # appear twice (in a file and the buffer) or not at all.
        q = union_all(
            select(literal("f"), f.name, cast(literal(0), BigInteger), cast(literal(0.0), Double))
            .where(f.hour_ms >= start_ms - rawstore.HOUR_MS, f.hour_ms < end_ms),
            select(literal("s"), cast(literal(""), String), s.ts_ms, s.value).where(*unflushed))
        rows = conn.execute(q).all()
        names = [r[1] for r in rows if r[0] == "f"]
        pts = [(r[2], 1, r[3], r[3]) for r in rows if r[0] == "s"]
        pts += [(t, 1, v, v) for t, v in rawstore.read(
            state_root / "raw", names,
            "SELECT ts_ms, value FROM raw WHERE host_id = ? AND pid = ? AND started_ms = ? AND "
            "name = ? AND resource = ? AND ts_ms >= ? AND ts_ms < ?",
            [series.host_id, series.pid, series.started_ms, series.name, series.resource,
             start_ms, end_ms])]
        step_ms = 1
    else:
        r = rollups.c
        q = union_all(
            select(r.minute_ms, r.n, r.total, r.peak).where(
                _series_where(r, series), r.minute_ms >= start_ms, r.minute_ms < end_ms),
            select(s.ts_ms, literal(1), s.value, s.value).where(*unflushed))
        pts = [(int(t), int(n), float(total), float(peak)) for t, n, total, peak in conn.execute(q)]
        step_ms = max(60_000, -(-span // MAX_POINTS) // 60_000 * 60_000)
    points = _buckets(pts, step_ms)
    recent = [p for p in points if p["t"] * 1000 >= end_ms - 300_000]
    trend = None
    if len(recent) >= 3:
        tr = fit([p["t"] for p in recent], [p["mean"] for p in recent], threshold)
        trend = {"slope_per_min": tr.slope_per_min, "r2": tr.r2, "samples": tr.n,
                 "predicted_crossing": tr.crossing,
                 "from": {"t": recent[0]["t"], "value": _line(recent, tr.slope_per_min)},
                 "to": {"t": recent[-1]["t"], "value": _line(recent, tr.slope_per_min, last=True)}}
    return {"resolution_s": step_ms / 1000, "threshold": threshold,
            "resource": RESOURCE_NAMES[series.resource], "points": points, "trend": trend}


def _line(points: list[dict[str, Any]], slope_per_min: float, last: bool = False) -> float:
    """The fitted line's value at the first (or last) point: it passes through the means."""
    mt = sum(p["t"] for p in points) / len(points)
    mv = sum(p["mean"] for p in points) / len(points)
    t = points[-1]["t"] if last else points[0]["t"]
    return float(mv + slope_per_min / 60 * (t - mt))


def event_json(row: Any) -> dict[str, Any]:
    """One recorded state change as the webhook and the API show it."""
    return {"id": row.id, "at": row.ts_ms / 1000, "host_id": row.host_id, "pid": row.pid,
            "started": row.started_ms / 1000, "name": row.name,
            "resource": RESOURCE_NAMES[row.resource], "from": row.from_state,
            "to": row.to_state,
            "evidence": {"value": row.value, "slope_per_min": row.slope_per_min, "r2": row.r2,
                         "samples": row.n,
                         "predicted_crossing": None if row.crossing_ms is None
                         else row.crossing_ms / 1000}}


def _alarm_json(r: Any) -> dict[str, Any]:
    return {"host_id": r.host_id, "pid": r.pid, "started": r.started_ms / 1000, "name": r.name,
            "resource": RESOURCE_NAMES[r.resource], "state": r.state, "since": r.since_ms / 1000,
            "evidence": {"value": r.value, "slope_per_min": r.slope_per_min, "r2": r.r2,
                         "samples": r.n, "predicted_crossing": None if r.crossing_ms is None
                         else r.crossing_ms / 1000, "last_sample": r.last_ms / 1000}}


def current_alarms(conn: Connection) -> list[dict[str, Any]]:
    """Every series in alarm now (RED first), with its evidence."""
    rows = conn.execute(select(alarms).where(alarms.c.state.in_((RED, AMBER)))).all()
    return [_alarm_json(r) for r in sorted(rows, key=lambda r: (r.state != RED, r.name, r.pid))]


def alarm_changes(conn: Connection, limit: int, since_ms: int | None) -> list[dict[str, Any]]:
    """Recorded state changes, newest first."""
    e = alarm_events.c
    q = select(alarm_events).order_by(e.ts_ms.desc(), e.id.desc()).limit(limit)
    if since_ms is not None:
        q = q.where(e.ts_ms >= since_ms)
    return [event_json(r) for r in conn.execute(q)]

