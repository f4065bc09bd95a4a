"""Alarms, compaction, history and retention through `run_job`, on every database."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kpiflow.errors import LockBusy
from kpiflow.packs.hosts import rawstore, watermarks
from kpiflow.packs.hosts.alarms import SeriesState, step
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.packs.hosts.jobs import rules_of
from kpiflow.packs.hosts.tables import (
    FLUSHED,
    JUDGED,
    alarm_events,
    parquet_files,
    rollups,
    samples,
)
from kpiflow.store.lock import run_lock
from tests.dashboard.servers import serve
from tests.packs.hosts.conftest import Hosts, make_hosts


def _proc(now: float, values: list[float], name: str = "busy", pid: int = 7, step: float = 10,
          resource: str = "cpu", start: float | None = None) -> list[dict]:
    t0 = start if start is not None else now - step * (len(values) - 1)
    return [{"ts": t0 + i * step, "pid": pid, "started": 1000.0, "name": name, resource: v}
            for i, v in enumerate(values)]


def _file_names(h: Hosts) -> list[str]:
    with h.runtime.db.connect() as conn:  # closed: MariaDB's DROP DATABASE waits for it otherwise
        return [str(n) for n in conn.execute(select(parquet_files.c.name)).scalars()]


def _count(h: Hosts, table) -> int:
    with h.runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_red_amber_and_none_through_the_api(hosts_app: Hosts, now: float):
    h = hosts_app
    h.agent_post(_proc(now, [86.0] * 13, name="hot"))
    h.agent_post(_proc(now, [50 + 28 * i / 12 for i in range(13)], name="rising", pid=8))
    h.agent_post(_proc(now, [50.0] * 13, name="flat", pid=9))
    summary = h.run("alarms")
    assert summary.counts()["changes"] == 2
    assert h.client.get("/ressources-usage/query-alarm/").json() == {"hot": "RED",
                                                                     "rising": "AMBER"}
    alarms = {a["name"]: a for a in h.client.get("/api/v1/hosts/alarms").json()}
    assert alarms["hot"]["since"] == pytest.approx(now - 120 + 30, abs=0.01)
    ev = alarms["rising"]["evidence"]
    assert ev["samples"] == 13 and ev["slope_per_min"] == pytest.approx(14.0)
    assert ev["r2"] == pytest.approx(1.0) and ev["predicted_crossing"] > now
    changes = h.client.get("/api/v1/hosts/alarms/changes").json()
    assert sorted((c["name"], c["from"], c["to"]) for c in changes) == [
        ("hot", "OK", "RED"), ("rising", "OK", "AMBER")]
    # Evaluating again with nothing new changes nothing.
    assert h.run("alarms").counts()["changes"] == 0
    # The hot process cools below 75: RED clears, recorded once.
    h.agent_post(_proc(now, [70.0], name="hot", start=now + 1))
    h.run("alarms")
    assert h.client.get("/ressources-usage/query-alarm/").json() == {"rising": "AMBER"}
    assert _count(h, alarm_events) == 3


def test_late_batch_is_judged_by_when_it_was_measured(hosts_sqlite: Hosts, now: float):
    h = hosts_sqlite
    h.agent_post(_proc(now, [50.0] * 3, start=now - 200))
    h.run("alarms")
    # A batch buffered by the agent during an outage arrives now: 86 % from t-150 to t-100.
    h.agent_post(_proc(now, [86.0] * 6, start=now - 150))
    h.run("alarms")
    changes = h.client.get("/api/v1/hosts/alarms/changes").json()
    assert [(c["to"], c["at"]) for c in changes] == [("RED", pytest.approx(now - 150 + 30))]


def test_flush_writes_parquet_once_and_history_reads_both_places(hosts_app: Hosts, now: float):
    h = hosts_app
    h.agent_post(_proc(now, [float(i % 90) for i in range(60)], step=5))  # 5 minutes of samples
    s = h.run("flush").counts()
    assert s["samples"] == 60 and s["files"] >= 1
    assert h.run("flush").counts()["samples"] == 0
    h.agent_post(_proc(now, [42.0], start=now + 0.5))  # unflushed, in the buffer only
    files = list((h.state_root / "raw").glob("hour=*/*.parquet"))
    assert len(files) == _count(h, parquet_files) >= 1
    hist = h.client.get("/api/v1/hosts/history", params={
        "host_id": "host-a", "pid": 7, "started": 1000, "name": "busy", "resource": "cpu",
        "start": now - 600, "end": now + 10}).json()
    got = [(p["t"], p["mean"]) for p in hist["points"]]
    want = [(pytest.approx(now - 295 + i * 5, abs=1e-3), float(i % 90)) for i in range(60)]
    assert got == [*want, (pytest.approx(now + 0.5, abs=1e-3), 42.0)]
    assert hist["resolution_s"] == 0.001 and hist["threshold"] == 80.0
    # Rollups: 1-minute partials sum to the samples flushed.
    with h.runtime.db.connect() as conn:
        n, total = conn.execute(select(func.sum(rollups.c.n), func.sum(rollups.c.total))).one()
    assert int(n) == 60 and float(total) == pytest.approx(sum(float(i % 90) for i in range(60)))
    long = h.client.get("/api/v1/hosts/history", params={
        "host_id": "host-a", "pid": 7, "started": 1000, "name": "busy",
        "start": now - 86400, "end": now + 10}).json()
    assert sum(p["samples"] for p in long["points"]) == 61 and long["resolution_s"] >= 60


def test_rollups_equal_a_reference_per_minute_and_series(hosts_app: Hosts, now: float):
    # Names a CSV or COPY text writer must quote or escape; values that are not short decimals.
    names = ['tab\there', 'comma,"quoted"', 'new\nline \\N', 'ünï ☃']
    values = [1 / 3, 0.1, 99.99, 2 / 7, 0.0, 100.0, 50.000000000001, 12.5]
    sent: list[tuple[str, float, float]] = []
    for k, name in enumerate(names):
        rows = _proc(now, values[k:] + values[:k], name=name, pid=10 + k, step=17,
                     start=now - 130 + k)
        assert hosts_app.agent_post(rows).status_code == 200
        sent += [(name, r["ts"], r["cpu"]) for r in rows]
    assert hosts_app.run("flush").counts()["samples"] == len(sent)
    want: dict[tuple[str, int], list[float]] = {}
    for name, ts, value in sent:
        want.setdefault((name, round(ts * 1000) // 60_000 * 60_000), []).append(value)
    r = rollups.c
    with hosts_app.runtime.db.connect() as conn:
        got = conn.execute(select(r.name, r.minute_ms, func.sum(r.n), func.sum(r.total),
                                  func.max(r.peak)).group_by(r.name, r.minute_ms)).all()
    assert {(n, m): (int(c), float(t), p) for n, m, c, t, p in got} == {
        k: (len(v), pytest.approx(math.fsum(v), rel=1e-12), max(v)) for k, v in want.items()}


def test_alarms_run_while_a_flush_holds_the_pack_lock(hosts_app: Hosts, now: float):
    h = hosts_app
    h.agent_post(_proc(now, [90.0] * 6))
    pack, where = h.runtime.pack("hosts"), h.runtime.settings.resolved_state_dir
    flush_lock, alarms_lock = (pack.job(j).lock_name("hosts") for j in ("flush", "alarms"))
    assert flush_lock != alarms_lock
    with run_lock(h.runtime.db, flush_lock, where):  # as a long flush would
        assert h.run("alarms").counts()["samples"] == 6
        for job in ("flush", "retention"):  # both write the Parquet files: one at a time
            with pytest.raises(LockBusy):
                h.run(job)
    with run_lock(h.runtime.db, alarms_lock, where):
        with pytest.raises(LockBusy):
            h.run("alarms")
        assert h.run("flush").counts()["samples"] == 6


def _at_once(h: Hosts, *jobs: str) -> None:
    """Run the jobs in threads started together; raise what any of them raised (a deadlock)."""
    start = threading.Barrier(len(jobs))

    def run(job: str) -> None:
        start.wait()
        h.run(job)

    with ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(run, jobs))


def test_flush_and_alarms_at_once_take_every_sample_once(hosts_app: Hosts, now: float):
    h = hosts_app
    sent = 0
    for _ in range(3):
        for p in range(20):  # 20 processes x 60 ticks x cpu and mem per round
            rows = [{"ts": now - 60 + i + p / 100, "pid": 100 + p, "started": 1000.0,
                     "name": f"p{p}", "cpu": float((i * p) % 97), "mem": 1.0} for i in range(60)]
            assert h.agent_post(rows).status_code == 200
            sent += 2 * len(rows)
        _at_once(h, "flush", "alarms")
    with h.runtime.db.connect() as conn:
        left = [conn.execute(select(func.count()).where(samples.c.id > watermarks.upto(mark)))
                .scalar_one() for mark in (FLUSHED, JUDGED)]
        buffered = conn.execute(select(func.count()).select_from(samples)).scalar_one()
        rolled = conn.execute(select(func.sum(rollups.c.n))).scalar_one()
    assert (left, buffered, int(rolled)) == ([0, 0], sent, sent)
    names = _file_names(h)
    assert rawstore.read(rawstore.raw_root(h.state_root), names, "SELECT count(*) FROM raw",
                         []) == [(sent,)]


def test_kill_9_between_file_and_commit_leaves_no_duplicate(hosts_sqlite: Hosts, now: float):
    h = hosts_sqlite
    h.agent_post(_proc(now, [1.0, 2.0, 3.0]))
    cmd = [str(Path(sys.executable).parent / "kpiflow"), "--database-url", h.runtime.settings.database_url,
           "--state-dir", str(h.runtime.settings.resolved_state_dir), "hosts", "run", "flush"]
    env = {**os.environ, "KPIFLOW_CRASH_AT": "hosts.flush.commit"}
    crashed = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    root = rawstore.raw_root(h.state_root)
    assert len(list(root.glob("hour=*/*.pending"))) == 1  # written, never committed
    counts = h.run("flush").counts()
    assert (counts["samples"], counts["files"], counts["recovered"]) == (3, 1, 1)
    assert not list(root.glob("hour=*/*.pending"))
    names = _file_names(h)
    assert rawstore.read(root, names, "SELECT count(*) FROM raw", []) == [(3,)]


def test_retention_removes_exactly_what_is_older(tmp_path: Path, database_url: str, now: float):
    gen = make_hosts(tmp_path, database_url, hosts_raw_retention_hours=1.0,
                     hosts_rollup_retention_days=0.5 / 24)
    h = next(gen)
    # One sample a minute from 99m50s ago on: 40 are older than the hour, 61 are not.
    h.agent_post(_proc(now, [float(i) for i in range(101)], step=60, start=now - 5990))
    h.run("flush")
    s = h.run("retention").counts()
    assert s["samples_removed"] == 40
    names = _file_names(h)
    left = rawstore.read(rawstore.raw_root(h.state_root), names,
                         "SELECT count(*), min(ts_ms) FROM raw", [])
    assert left[0][0] == 61 and left[0][1] >= round((now - 3600) * 1000)
    assert sorted(p.relative_to(rawstore.raw_root(h.state_root)).as_posix() for p in
                  rawstore.raw_root(h.state_root).glob("hour=*/*.parquet")) == sorted(names)
    with h.runtime.db.connect() as conn:
        oldest = conn.execute(select(func.min(rollups.c.minute_ms))).scalar_one()
        assert conn.execute(select(func.count()).select_from(samples)
                            .where(samples.c.ts_ms < round((now - 3600) * 1000))).scalar_one() == 0
    assert oldest >= round((now - 1800) * 1000) - 60_000
    gen.close()


def test_webhook_gets_each_change_with_retries(hosts_sqlite: Hosts, now: float, tmp_path: Path,
                                               sqlite_url: str):
    received: list[dict] = []
    failures = [2]

    async def hook(request: Request) -> Response:
        if failures[0] > 0:
            failures[0] -= 1
            return Response("busy", status_code=503)
        assert request.headers["authorization"] == "Bearer hook-token"
        received.append(json.loads(await request.body()))
        return Response("ok")

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        gen = make_hosts(tmp_path / "w", sqlite_url.replace("kpiflow.db", "w.db"),
                         hosts_webhook_url=url + "/hook", hosts_webhook_token="hook-token")
        h = next(gen)
        h.agent_post(_proc(now, [86.0] * 13, name="hot"))
        first = h.run("alarms").counts()
        assert first["delivered"] == 0 and first["delivery_failures"] == 1
        h.run("alarms")
        third = h.run("alarms").counts()
        assert third["delivered"] == 1
        gen.close()
    assert [(e["name"], e["from"], e["to"]) for e in received] == [("hot", "OK", "RED")]
    assert received[0]["evidence"]["value"] == 86.0


def test_alarms_judged_in_steps_with_another_process_between_equal_judging_at_once(
        hosts_app: Hosts, now: float):
    """The job keeps each series' recent samples between evaluations; a judgement by another
    process in between must send it back to the buffer, and the result is the same as judging
    every sample in one go (the rules' reference)."""
    h = hosts_app
    shapes = {"climb": [50 + 2 * i for i in range(20)] + [90.0] * 10 + [78, 82, 74] * 3 + [60] * 11,
              "flat": [40.0] * 53, "spike": [20, 95, 95, 95, 95, 20] * 8 + [20] * 5}
    t0 = now - 10 * 53
    for part in range(6):
        lo, hi = part * 9, min(53, part * 9 + 9)
        h.agent_post([s for pid, (name, vals) in enumerate(shapes.items())
                      for s in _proc(now, vals[lo:hi], name=name, pid=pid, start=t0 + 10 * lo)])
        if part == 3:  # another process judges this part: this one's memory is stale
            cmd = [str(Path(sys.executable).parent / "kpiflow"), "--database-url",
                   h.runtime.settings.database_url, "--state-dir",
                   str(h.runtime.settings.resolved_state_dir), "hosts", "run", "alarms"]
            assert subprocess.run(cmd, capture_output=True, timeout=180).returncode == 0
        else:
            h.run("alarms")
    want = []
    for name, vals in shapes.items():
        ts = [t0 + 10 * i for i in range(len(vals))]
        _, changes = step(SeriesState(), ts, [float(v) for v in vals], rules_of(HostsSettings()))
        want += [(name, c.before, c.after, round(c.at * 1000)) for c in changes]
    got = [(c["name"], c["from"], c["to"], round(c["at"] * 1000))
           for c in h.client.get("/api/v1/hosts/alarms/changes").json()]
    assert sorted(got) == sorted(want) and len(want) >= 6
