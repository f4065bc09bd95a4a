"""Store a pushed batch durably, once: the batch key, its samples and its host in one commit."""

from __future__ import annotations

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from kpiflow.packs.hosts.schema import Batch
from kpiflow.packs.hosts.tables import batches, hosts, samples
from kpiflow.store.upsert import insert_missing


def store_batch(db: Engine, batch: Batch, now_ms: int) -> bool:
    """Commit the batch (True), or find its key already stored (False) and store nothing.

    The key row is inserted first in the same transaction as the samples, so a concurrent resend
    of the same key fails on the primary key and rolls back whole.
    """
    try:
        with db.begin() as conn:
            conn.execute(insert(batches), {"batch_key": batch.key, "host_id": batch.host_id,
                                           "received_ms": now_ms, "samples": len(batch.rows)})
            if batch.rows:
                conn.execute(insert(samples),
                             [{**r, "host_id": batch.host_id, "flushed": 0, "judged": 0}
                              for r in batch.rows])
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
