"""Logins benchmark: generated logs (`kpiflow logins generate`), extraction and period queries.

Measures, in one run (so ratios are fair on a shared machine):
- extraction: `run_job` of the logins pack into a fresh SQLite database (lines/s end to end:
  read, parse, filter, per-day sets, commits), against a pandas job doing the same filtering
  (`read_json(lines=True)`, regex on message, admin excluded, local day, distinct users per day);
- queries: two years of `W` and one `Y` over two years from the stored days, on SQLite and on
  PostgreSQL (the stored rows copied there), against pandas `Grouper(freq).nunique()` over the
  raw login events held in memory; median of 5;
- the stored state in bytes per login event (day blobs + user dictionary).

Usage: .venv/bin/python bench/logins.py [--lines 10000000] [--users 100000] [--days 730]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, func, insert, select, text

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.logins import generate, pipeline, queries
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import Grain
from kpiflow.packs.logins.tables import days, users
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.store.tables import checkpoints

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"
START = date(2024, 1, 1)


def median_seconds(fn: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def pandas_extract(files: list[Path]) -> tuple[pd.DataFrame, float]:
    t = time.perf_counter()
    parts = []
    for f in files:
        frame = pd.read_json(f, lines=True, dtype={"user": str, "message": str})
        keep = frame["message"].str.contains("successful login", regex=True) & (
            frame["user"] != "admin")
        frame = frame.loc[keep, ["created", "user"]]
        frame["created"] = pd.to_datetime(frame["created"], utc=True)
        parts.append(frame)
    events = pd.concat(parts, ignore_index=True)
    per_day = events.groupby(events["created"].dt.tz_convert("UTC").dt.date)["user"].nunique()
    assert len(per_day) > 0
    return events, time.perf_counter() - t


def copy_to_postgres(sqlite_url: str) -> str:
    name = f"kpiflow_bench_logins_{int(time.time())}"
    admin = create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = PG + name
    rt = Runtime.build(Settings(database_url=url), discover_packs())
    rt.ensure_schema()
    source = create_engine(sqlite_url)
    with source.connect() as src, rt.db.begin() as dst:
        for table in (users, days, checkpoints):
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            for i in range(0, len(rows), 5000):
                dst.execute(insert(table), rows[i:i + 5000])
    source.dispose()
    rt.close()
    return url


def drop(url: str) -> None:
    admin = create_engine(PG + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    end = START + timedelta(days=args.days - 1)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        files = generate.generate(tmp / "logs", args.lines, args.users, START, args.days, seed=0)
        print(f"generate: {args.lines:,} lines in {time.perf_counter() - t:.1f} s")

        url = f"sqlite:///{tmp / 'k.db'}"
        rt = Runtime.build(Settings(database_url=url, state_dir=tmp / "state"), discover_packs(),
                           logins=LoginsSettings(logins_source=str(tmp / "logs"), logins_start=START))
        rt.ensure_schema()
        t, cpu = time.perf_counter(), time.process_time()
        pack = rt.pack("logins")
        job = dataclasses.replace(pack.job("extract"), run=partial(
            pipeline.extract, options=pipeline.RunOptions(START, end)))
        summary = run_job(rt, pack, job)
        ours, our_cpu = time.perf_counter() - t, time.process_time() - cpu
        print(f"extract (kpiflow): {ours:.1f} s, {args.lines / ours:,.0f} lines/s "
              f"({our_cpu:.1f} CPU s, all threads); {summary}")
        cpu = time.process_time()
        events, theirs = pandas_extract(files)
        their_cpu = time.process_time() - cpu
        print(f"extract (pandas): {theirs:.1f} s, {args.lines / theirs:,.0f} lines/s "
              f"({their_cpu:.1f} CPU s); ratio {theirs / ours:.2f}x (CPU {their_cpu / our_cpu:.2f}x)")
        again = run_job(rt, pack, dataclasses.replace(pack.job("extract"), run=partial(
            pipeline.extract, options=pipeline.RunOptions(end=end))))
        print(f"a second run (look-back only): {again}")

        with rt.db.connect() as conn:
            blob = conn.execute(select(func.sum(func.length(days.c.data)))).scalar() or 0
            names = conn.execute(select(func.sum(func.length(users.c.name)))).scalar() or 0
            n_users = conn.execute(select(func.count()).select_from(users)).scalar() or 0
            pairs = conn.execute(select(func.sum(days.c.users))).scalar() or 0
            n_days = conn.execute(select(func.count()).select_from(days)).scalar() or 0
        logins = len(events)
        state = blob + names + 8 * n_users + n_days * 24
        print(f"state: {state:,} bytes for {logins:,} login events = {state / logins:.2f} B/event "
              f"(day sets {blob:,} B, dictionary {names + 8 * n_users:,} B, {pairs:,} day-user "
              f"pairs; a (day, user) table would hold {pairs:,} rows)")

        by_time = events.set_index("created")
        settings = LoginsSettings()
        pg = copy_to_postgres(url)
        try:
            pg_engine = create_engine(pg)
            for grain, freq in ((Grain.W, "W"), (Grain.Y, "YE")):
                results = {}
                for label, engine in (("SQLite", rt.db), ("PostgreSQL", pg_engine)):
                    def query(engine: Any = engine, grain: Grain = grain) -> Any:
                        with engine.connect() as conn:
                            return queries.uniques(conn, settings, grain, START, end)
                    results[label] = (median_seconds(query), query())
                reference = by_time.groupby(pd.Grouper(freq=freq))["user"].nunique()
                baseline = median_seconds(
                    lambda f=freq: by_time.groupby(pd.Grouper(freq=f))["user"].nunique(), 3)
                counts = [p.unique_users for p in results["SQLite"][1].periods]
                assert counts[: len(reference)] == [int(v) for v in reference.values], grain
                assert counts == [p.unique_users for p in results["PostgreSQL"][1].periods]
                for label, (seconds, answer) in results.items():
                    print(f"{grain.value} over {args.days} days on {label}: {len(answer.periods)} "
                          f"periods in {seconds * 1000:.1f} ms; pandas Grouper nunique "
                          f"{baseline * 1000:.1f} ms; ratio {baseline / seconds:.2f}x")
            pg_engine.dispose()
        finally:
            drop(pg)
        rt.close()
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
