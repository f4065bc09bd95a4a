"""Store a pushed batch durably, once: the batch key, its samples and its host in one commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kpiflow.packs.hosts.schema import Batch
from kpiflow.packs.hosts.tables import (
    BATCHES,
    PARTIAL_MS,
    batches,
    hosts,
    name_partials,
    progress,
    samples,
)
from kpiflow.store.upsert import insert_missing


def store_batch(db: Engine, batch: Batch, now_ms: int) -> bool:
    """Commit the batch (True), or find its key already stored (False) and store nothing.

    The batch count is updated first: that row's lock makes batches take their sample ids and
    commit one after another, which the jobs' watermarks rely on (`tables.progress`). The key row
    is inserted in the same transaction as the samples, so a concurrent resend of the same key
    fails on the primary key and rolls back whole.
    """
    try:
        with db.begin() as conn:
            conn.execute(update(progress).where(progress.c.name == BATCHES)
                         .values(upto=progress.c.upto + 1))
            conn.execute(insert(batches), {"batch_key": batch.key, "host_id": batch.host_id,
                                           "received_ms": now_ms, "samples": len(batch.rows)})
            if batch.rows:
                conn.execute(insert(samples),
                             [{**r, "host_id": batch.host_id} for r in batch.rows])
                add_partials(conn, partials(batch.rows))
            last = max((r["ts_ms"] for r in batch.rows), default=now_ms)
            insert_missing(conn, hosts, [{
                "host_id": batch.host_id, "hostname": batch.hostname, "ip": batch.ip,
                "cores": batch.cores, "interval_s": batch.interval, "first_ms": last,
                "last_ms": last}])
            h = hosts.c
            conn.execute(update(hosts).where(h.host_id == batch.host_id, h.last_ms <= last)
                         .values(hostname=batch.hostname, ip=batch.ip, last_ms=last,
                                 cores=batch.cores, interval_s=batch.interval))
    except IntegrityError:
        return False
    return True


def partials(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch's samples as count and sum per (5-second bucket, name, resource), in key order
    (concurrent batches then lock the same rows in the same order: no deadlock)."""
    acc: dict[tuple[int, str, int], list[float]] = {}
    for r in rows:
        a = acc.setdefault((r["ts_ms"] // PARTIAL_MS * PARTIAL_MS, r["name"], r["resource"]),
                           [0, 0.0])
        a[0] += 1
        a[1] += r["value"]
    return [{"bucket_ms": b, "name": name, "resource": res, "n": int(n), "total": total}
            for (b, name, res), (n, total) in sorted(acc.items())]


def add_partials(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Add counts and sums to their rows, creating missing ones (core's `upsert` replaces
    values; these are added to, per dialect)."""
    p = name_partials.c
    if conn.dialect.name == "mysql":
        my = mysql.insert(name_partials)
        conn.execute(my.on_duplicate_key_update(n=p.n + my.inserted.n,
                                                total=p.total + my.inserted.total), rows)
        return
    lite = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(name_partials)
    conn.execute(lite.on_conflict_do_update(
        index_elements=["bucket_ms", "name", "resource"],
        set_={"n": p.n + lite.excluded.n, "total": p.total + lite.excluded.total}), rows)
