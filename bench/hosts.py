"""Hosts benchmark: ingest rate, read latency under load, bytes per stored sample, agent cost.

Phases (each figure is measured in this run, on this machine):
- ingest: a real `kpiflow serve` (SQLite file, or PostgreSQL with --postgresql) and a separate
  load process posting agent batches (H hosts x P processes, cpu+mem) over loopback as fast as
  it is answered, with C concurrent senders, for S seconds: values stored per second.
- reads: while a second load process sends at half that rate, p50/p99 of `get-all` and
  `query-alarm/` (after one alarm evaluation over everything stored).
- sustained (--rates): on emptied tables for each rate, a `kpiflow serve` with its scheduler on
  (alarms every 10 s, flush every 60 s, each in a child process; in the server with
  --job-runner scheduler) and two load processes paced to a target rate for S
  seconds; every 5 s the backlog (samples not yet judged by the alarm job, not yet flushed to
  Parquet) is read from the database, and `get-all` / `query-alarm/` are timed throughout. A rate
  is sustained when the senders keep pace (95 %) and the unjudged backlog of the second half stays
  under 20 s of load (judged every 10 s, polled every 5 s).
- jobs (--jobs-ticks N): N ticks of H x P processes stored through the ingest path on a fresh
  database, then one alarm evaluation and one flush timed (in this process, through run_job).
- disk: N synthetic ticks of H x P processes written by the pack's own Parquet writer: bytes per
  value (one value = one process's cpu or mem at one instant).
- agent: a real `kpiflow agent` at a 2 s interval for 30 s: CPU seconds per tick, expressed as
  % of one core at the default 10 s interval, and its RSS.

Usage: .venv/bin/python bench/hosts.py [--hosts 100] [--procs 300] [--seconds 20] [--postgresql]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil

TOKEN = "bench-token"
KPIFLOW = str(Path(sys.executable).parent / "kpiflow")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


JOB_RUNNER = "process"  # KPIFLOW_HOSTS_JOB_RUNNER of the sustained phase's server (--job-runner)


def _server(db_url: str, state: Path, schedule: bool = False) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    proc = subprocess.Popen([KPIFLOW, "--database-url", db_url, "--state-dir", str(state), "serve",
                             "--port", str(port), *([] if schedule else ["--no-schedule"])],
                            env={**os.environ, "KPIFLOW_API_TOKEN": TOKEN,
                                 "KPIFLOW_HOSTS_JOB_RUNNER": JOB_RUNNER},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _batch(host: int, procs: int, ts: float) -> dict:
    rnd = random.Random(host * 7919 + int(ts))
    return {"key": uuid.uuid4().hex, "host_id": f"h{host:04d}", "hostname": f"host-{host}",
            "ip": f"10.0.{host // 250}.{host % 250 + 1}", "cores": 8, "interval": 10,
            "samples": [{"ts": ts, "pid": 1000 + p, "started": 1.7e9 + p, "name": f"proc-{p}",
                         "cpu": round(rnd.random() * 5, 1), "mem": round(0.1 + p % 17 * 0.3, 2)}
                        for p in range(procs)]}


def _load(url: str, hosts: int, procs: int, seconds: float, rate: float | None, out: mp.Queue,
          first: int = 0) -> None:
    """Send batches host after host (hosts first.. first+hosts-1; paced to `rate` values/s when
    given); report values sent."""
    sent = 0
    body_cache = [_batch(first + h, procs, 0) for h in range(hosts)]
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    start = time.monotonic()
    h = 0
    while time.monotonic() - start < seconds:
        body = dict(body_cache[h % hosts], key=uuid.uuid4().hex)
        ts = time.time()
        body["samples"] = [dict(s, ts=ts) for s in body["samples"]]
        r = client.post("/api/v1/hosts/samples", json=body)
        r.raise_for_status()
        sent += 2 * procs
        h += 1
        if rate:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    out.put((sent, time.monotonic() - start))


def ingest_and_reads(db_url: str, hosts: int, procs: int, seconds: float, senders: int) -> dict:
    state = Path(tempfile.mkdtemp(prefix="hosts-bench-"))
    server, url = _server(db_url, state)
    try:
        q: mp.Queue = mp.get_context("spawn").Queue()
        ctx = mp.get_context("spawn")
        workers = [ctx.Process(target=_load, args=(url, hosts, procs, seconds, None, q))
                   for _ in range(senders)]
        for w in workers:
            w.start()
        results = [q.get() for _ in workers]
        for w in workers:
            w.join()
        rate = sum(n for n, _ in results) / max(t for _, t in results)
        subprocess.run([KPIFLOW, "--database-url", db_url, "--state-dir", str(state), "hosts",
                        "run", "alarms"], check=True, capture_output=True)
        loader = ctx.Process(target=_load, args=(url, hosts, procs, seconds, rate / 2, q))
        loader.start()
        lat: dict[str, list[float]] = {"get-all": [], "query-alarm": []}
        client = httpx.Client(base_url=url, timeout=60)
        deadline = time.monotonic() + seconds - 1
        names = 0
        while time.monotonic() < deadline:
            for what, path in (("get-all", "/ressources-usage/get-all"),
                               ("query-alarm", "/ressources-usage/query-alarm/")):
                t0 = time.perf_counter()
                r = client.get(path)
                lat[what].append(time.perf_counter() - t0)
                r.raise_for_status()
                if what == "get-all":
                    names = len(r.json())
        half_sent, half_t = q.get()
        loader.join()
        pct = {w: (statistics.median(v) * 1000, statistics.quantiles(v, n=100)[98] * 1000, len(v))
               for w, v in lat.items()}
        return {"rate": rate, "half_rate": half_sent / half_t, "latency": pct, "names": names}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _backlog(db_url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, func, select

    from kpiflow.packs.hosts import watermarks
    from kpiflow.packs.hosts.tables import FLUSHED, JUDGED, samples

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            s = samples.c
            unjudged, unflushed = (
                conn.execute(select(func.count()).where(s.id > watermarks.upto(mark))).scalar_one()
                for mark in (JUDGED, FLUSHED))
    finally:
        engine.dispose()
    return int(unjudged), int(unflushed)


def sustained(db_url: str, hosts: int, procs: int, seconds: float, rate: float) -> dict:
    """Paced load with the jobs on; backlog and read latency over time."""
    state = Path(tempfile.mkdtemp(prefix="hosts-bench-"))
    server, url = _server(db_url, state, schedule=True)
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    try:
        workers = [ctx.Process(target=_load, args=(url, hosts // 2, procs, seconds, rate / 2, q,
                                                     i * (hosts // 2)))
                   for i in range(2)]
        for w in workers:
            w.start()
        lat: dict[str, list[float]] = {"get-all": [], "query-alarm": []}
        backlog: list[tuple[float, int, int]] = []
        loads: list[float] = []
        client = httpx.Client(base_url=url, timeout=60)
        start = time.monotonic()
        next_poll = start
        names = 0
        while any(w.is_alive() for w in workers) and time.monotonic() - start < seconds + 30:
            if time.monotonic() >= next_poll:
                backlog.append((time.monotonic() - start, *_backlog(db_url)))
                loads.append(os.getloadavg()[0])
                next_poll += 5
            for what, path in (("get-all", "/ressources-usage/get-all"),
                               ("query-alarm", "/ressources-usage/query-alarm/")):
                t0 = time.perf_counter()
                r = client.get(path)
                lat[what].append(time.perf_counter() - t0)
                r.raise_for_status()
                if what == "get-all":
                    names = len(r.json())
            time.sleep(0.2)
        sent = [q.get() for _ in workers]
        for w in workers:
            w.join()
        pct = {w: (statistics.median(v) * 1000, statistics.quantiles(v, n=100)[98] * 1000, len(v))
               for w, v in lat.items() if len(v) > 1}
        loads.append(os.getloadavg()[0])
        half = len(backlog) // 2
        return {"target": rate, "achieved": sum(n for n, _ in sent) / max(t for _, t in sent),
                "latency": pct, "names": names, "backlog": backlog,
                "unjudged_first_half_max": max((b[1] for b in backlog[1:half]), default=0),
                "unjudged_second_half_max": max((b[1] for b in backlog[half:]), default=0),
                "load": max(loads, default=0.0),
                # judged every 10 s, polled every 5 s: a bounded backlog stays under ~20 s of load;
                # and the senders kept pace (the server answered fast enough)
                "sustained": max((b[1] for b in backlog[half:]), default=0) <= 20 * rate
                and sum(n for n, _ in sent) / max(t for _, t in sent) >= 0.95 * rate}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)


def jobs_cost(url: str, hosts: int, procs: int, ticks: int) -> dict:
    """`ticks` ticks of every process stored through the ingest path, then one alarm evaluation
    and one flush timed through core's run_job (the database work a minute brings)."""
    import uuid as uuid_mod

    from kpiflow.config import Settings
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.hosts.ingest import store_batch
    from kpiflow.packs.hosts.schema import Batch
    from kpiflow.registry import discover_packs
    from kpiflow.runtime import Runtime

    rt = Runtime.build(Settings(database_url=url, state_dir=Path(tempfile.mkdtemp())),
                       discover_packs())
    rt.ensure_schema()
    rnd = random.Random(2)
    start = time.time() - ticks * 10
    t0 = time.perf_counter()
    for t in range(ticks):
        for h in range(hosts):
            ts_ms = round((start + t * 10 + h / hosts) * 1000)
            rows = [{"ts_ms": ts_ms, "pid": 1000 + p, "started_ms": 1_700_000_000_000 + p,
                     "name": f"proc-{p % 120}", "resource": r, "value": round(rnd.random() * 50, 2)}
                    for p in range(procs) for r in (0, 1)]
            store_batch(rt.db, Batch(uuid_mod.uuid4().hex, f"h{h:04d}", f"h{h:04d}", "10.0.0.1",
                                     2, 10.0, rows), ts_ms)
    stored_s = time.perf_counter() - t0
    timed = {}
    for job in ("alarms", "flush"):
        t0 = time.perf_counter()
        run_job(rt, rt.pack("hosts"), job)
        timed[job] = time.perf_counter() - t0
    rt.close()
    return {"values": ticks * hosts * procs * 2, "store_s": stored_s, **timed}


def disk(hosts: int, procs: int, ticks: int) -> dict:
    import polars as pl

    from kpiflow.packs.hosts import rawstore

    rows = []
    rnd = random.Random(1)
    for t in range(ticks):
        ts_ms = 1_796_000_000_000 + t * 10_000
        for h in range(hosts):
            for p in range(procs):
                busy = p % 10 == 0
                cpu = round(rnd.random() * (40 if busy else 0.5), 1)
                rows.append({"ts_ms": ts_ms, "host_id": f"h{h:04d}", "pid": 1000 + p,
                             "started_ms": 1_700_000_000_000 + p, "name": f"proc-{p % 120}",
                             "resource": 0, "value": cpu})
                rows.append({"ts_ms": ts_ms, "host_id": f"h{h:04d}", "pid": 1000 + p,
                             "started_ms": 1_700_000_000_000 + p, "name": f"proc-{p % 120}",
                             "resource": 1, "value": round(0.1 + p % 17 * 0.3 + rnd.random() * 0.01, 4)})
    root = Path(tempfile.mkdtemp(prefix="hosts-disk-"))
    t0 = time.perf_counter()
    _, _, size = rawstore.write_pending(root, 0, rawstore.frame(pl.DataFrame(rows)))
    return {"values": len(rows), "bytes": size, "per_value": size / len(rows),
            "seconds": time.perf_counter() - t0}


def agent_cost(seconds: float = 30.0, processes: int = 300) -> dict:
    state = Path(tempfile.mkdtemp(prefix="hosts-agent-"))
    # Idle processes until the host has `processes` (the host has 300).
    fillers = [subprocess.Popen(["sleep", "600"])
               for _ in range(max(0, processes - len(psutil.pids())))]
    # No server: the agent samples and queues (the send path is a POST per tick).
    proc = subprocess.Popen([KPIFLOW, "agent", "--server", "http://127.0.0.1:9", "--interval", "2",
                             "--state-dir", str(state)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    p = psutil.Process(proc.pid)
    time.sleep(8)  # imports and the priming pass
    c0 = p.cpu_times()
    time.sleep(seconds)
    c1 = p.cpu_times()
    rss = p.memory_info().rss
    n = len(psutil.pids())
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    for f in fillers:
        f.kill()
        f.wait()
    ticks = seconds / 2
    per_tick = (c1.user + c1.system - c0.user - c0.system) / ticks
    return {"per_tick_s": per_tick, "core_pct_at_10s": 100 * per_tick / 10, "rss_mb": rss / 2**20,
            "processes": n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--procs", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--postgresql", action="store_true")
    ap.add_argument("--ticks", type=int, default=30)
    ap.add_argument("--rates", default="", help="sustained phase: values/s, comma-separated")
    ap.add_argument("--sustain-seconds", type=float, default=120)
    ap.add_argument("--only-sustained", action="store_true")
    ap.add_argument("--jobs-ticks", type=int, default=0,
                    help="jobs phase: store this many ticks of every process, then time one "
                         "alarm evaluation and one flush (0: skip)")
    ap.add_argument("--job-runner", choices=("process", "scheduler"), default="process",
                    help="where the sustained phase's server runs the alarm and flush jobs: "
                    "child processes (the default) or its in-process scheduler (as before)")
    a = ap.parse_args()
    global JOB_RUNNER
    JOB_RUNNER = a.job_runner
    print(f"load average {os.getloadavg()[0]:.1f}, {psutil.cpu_count()} cores")
    dbs = {"sqlite": f"sqlite:///{tempfile.mkdtemp(prefix='hosts-db-')}/kpiflow.db"}
    if a.postgresql:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.conftest import create_database

        dbs["postgresql"] = create_database("postgresql")
    try:
        _phases(a, dbs)
    finally:
        if "postgresql" in dbs:
            from tests.conftest import drop_database

            drop_database(dbs["postgresql"])


def _fresh(url: str) -> str:
    """An empty database of the same kind (SQLite: a new file; a server: emptied tables)."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tempfile.mkdtemp(prefix='hosts-db-')}/kpiflow.db"
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for table in reversed(meta.sorted_tables):
                if table.name == "hosts_progress":  # its rows belong to the schema: back to 0
                    conn.execute(table.update().values(upto=0))
                elif table.name.startswith("hosts_"):
                    conn.execute(table.delete())
    finally:
        engine.dispose()
    return url


def _phases(a: argparse.Namespace, dbs: dict[str, str]) -> None:
    for name, url in dbs.items():
        for i, target in enumerate(float(x) for x in a.rates.split(",") if x):
            r = sustained(url if i == 0 else _fresh(url), a.hosts, a.procs, a.sustain_seconds,
                          target)
            print(f"{name}: sustained {r['achieved']:,.0f} of {target:,.0f} values/s for "
                  f"{a.sustain_seconds:.0f} s ({r['names']} names in get-all); unjudged backlog max "
                  f"{r['unjudged_first_half_max']:,} (1st half) -> "
                  f"{r['unjudged_second_half_max']:,} (2nd half); load average up to "
                  f"{r['load']:.1f}: {'sustained' if r['sustained'] else 'NOT sustained'}")
            print("  backlog (s, unjudged, unflushed): " + ", ".join(
                f"({t:.0f}, {u}, {f})" for t, u, f in r["backlog"]))
            for what, (p50, p99, n) in r["latency"].items():
                print(f"  {what}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({n} requests)")
        if a.jobs_ticks:
            j = jobs_cost(_fresh(url), a.hosts, a.procs, a.jobs_ticks)
            print(f"{name}: jobs over {j['values']:,} stored values (stored in "
                  f"{j['store_s']:.1f} s): alarms {j['alarms']:.1f} s, flush {j['flush']:.1f} s")
        if a.only_sustained:
            continue
        r = ingest_and_reads(url, a.hosts, a.procs, a.seconds, a.senders)
        print(f"{name}: ingest {r['rate']:,.0f} values/s (max, {a.senders} senders); "
              f"reads while {r['half_rate']:,.0f} values/s arrive ({r['names']} names):")
        for what, (p50, p99, n) in r["latency"].items():
            print(f"  {what}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({n} requests)")
    if a.only_sustained:
        return
    d = disk(a.hosts, a.procs, a.ticks)
    print(f"disk: {d['values']:,} values -> {d['bytes']:,} bytes = {d['per_value']:.2f} bytes/value "
          f"(written in {d['seconds']:.2f} s)")
    ag = agent_cost()
    print(f"agent: {ag['per_tick_s'] * 1000:.0f} ms CPU per tick over {ag['processes']} processes "
          f"= {ag['core_pct_at_10s']:.2f} % of a core at 10 s; RSS {ag['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
