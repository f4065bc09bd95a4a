"""The flush and the alarm job take samples by id watermark: safe only if batches commit in id
order, and only if an id is never handed out twice. On every database."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, func, insert, select, update

from kpiflow.packs.hosts import rawstore, watermarks
from kpiflow.packs.hosts.ingest import store_batch
from kpiflow.packs.hosts.schema import Batch
from kpiflow.packs.hosts.tables import (
    BATCHES,
    FLUSHED,
    JUDGED,
    parquet_files,
    progress,
    rollups,
    samples,
)
from tests.packs.hosts.conftest import Hosts


def _batch(now: float, n: int, host: str = "h1") -> Batch:
    rows = [{"ts_ms": round((now - 30 + i / 10) * 1000), "pid": i % 7, "started_ms": 1000,
             "name": f"p{i % 7}", "resource": i % 2, "value": float(i % 90)} for i in range(n)]
    return Batch(uuid.uuid4().hex, host, host, "10.0.0.9", 2, 10.0, rows)


def _raw_count(h: Hosts) -> int:
    with h.runtime.db.connect() as conn:
        names = [str(n) for n in conn.execute(select(parquet_files.c.name)).scalars()]
    [(n,)] = rawstore.read(rawstore.raw_root(h.state_root), names, "SELECT count(*) FROM raw", [])
    return int(n)


def test_a_batch_commits_after_the_batch_that_took_lower_ids(hosts_app: Hosts, now: float):
    # A watermark reader must never see a higher id committed while a lower one is pending.
    h = hosts_app
    db = h.runtime.db
    with db.connect() as holder:
        holder.execute(update(progress).where(progress.c.name == BATCHES)
                       .values(upto=progress.c.upto + 1))
        lower = holder.execute(insert(samples).values(
            ts_ms=round(now * 1000), host_id="h0", pid=1, started_ms=1, name="held", resource=0,
            value=1.0)).inserted_primary_key[0]
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(store_batch, db, _batch(now, 10), round(now * 1000))
            time.sleep(0.5)
            assert not waiting.done(), "a batch committed while an earlier one held lower ids"
            holder.commit()
            assert waiting.result(timeout=60) is True
    with db.connect() as conn:
        ids = conn.execute(select(samples.c.id).where(samples.c.host_id == "h1")).scalars().all()
    assert len(ids) == 10 and min(ids) > lower


def test_batches_stored_while_the_jobs_run_are_each_taken_once(hosts_app: Hosts, now: float):
    h = hosts_app
    db = h.runtime.db
    posted = threading.Event()
    start = threading.Barrier(5)

    def post(host: str) -> int:
        start.wait()
        sent = 0
        for _ in range(12):
            batch = _batch(now, 100, host)
            assert store_batch(db, batch, round(time.time() * 1000))
            sent += len(batch.rows)
        return sent

    def jobs() -> int:
        start.wait()
        passes = 0
        while not posted.is_set():
            h.run("flush")
            h.run("alarms")
            passes += 1
        return passes

    with ThreadPoolExecutor(5) as pool:
        running = pool.submit(jobs)
        sent = sum(pool.map(post, ["a", "b", "c", "d"]))
        posted.set()
        assert running.result() >= 1
    h.run("flush")
    h.run("alarms")
    with db.connect() as conn:
        left = [conn.execute(select(func.count()).where(samples.c.id > watermarks.upto(mark)))
                .scalar_one() for mark in (FLUSHED, JUDGED)]
        rolled = conn.execute(select(func.sum(rollups.c.n))).scalar_one()
    assert (left, int(rolled), _raw_count(h)) == ([0, 0], sent, sent)


def test_an_id_is_never_handed_out_twice_after_the_buffer_is_emptied(hosts_app: Hosts,
                                                                      now: float):
    # SQLite gives max(rowid) + 1 without AUTOINCREMENT: once the buffer was trimmed empty, the
    # next batch's ids were at or below the watermarks and never flushed.
    h = hosts_app
    db = h.runtime.db
    assert store_batch(db, _batch(now, 20), round(now * 1000))
    assert h.run("flush").counts()["samples"] == 20
    with db.begin() as conn:
        conn.execute(delete(samples))
    assert store_batch(db, _batch(now, 30), round(now * 1000))
    assert h.run("flush").counts()["samples"] == 30
    assert _raw_count(h) == 50
