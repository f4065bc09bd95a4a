"""Stores benchmark: a generated week of polls for the real 2023 stores (about 1.8M polls).

Measures, each phase in its own process so that its peak RSS is its own:
- load: hours + timezones, then the polls, into a fresh SQLite database (rows/s);
- report: the full vectorised report (read from SQLite, compute, format);
- pandas: a straightforward per-store pandas implementation of the same rules, on the same
  database, in the same run; its output must equal ours (checked), and the ratio is reported.

Usage: .venv/bin/python bench/stores.py [--days 7] [--seed 0] [--pandas-stores N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed-data" / "store-monitoring-loop"
if not SEED.is_dir():
    SEED = Path("/work/shared/seed-data/store-monitoring-loop")
FOLDER = SEED / "2023-numeric-ids"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(fn, *args):  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def phase_load(db: str, polls: str) -> dict:
    from kpiflow.config import Settings
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.stores import load
    from kpiflow.registry import discover_packs
    from kpiflow.runtime import Runtime

    settings = Settings(database_url=f"sqlite:///{db}", state_dir=Path(db).parent / "state")
    runtime = Runtime.build(settings, discover_packs())
    runtime.ensure_schema()  # schema creation is not loading (and happens once per process)
    stores = runtime.pack("stores")
    t = time.perf_counter()
    meta = run_job(runtime, stores, load.load_job({"hours": FOLDER / "menu_hours.csv",
                                                   "timezones": FOLDER / "timezones.csv"}))
    meta_s = time.perf_counter() - t
    t = time.perf_counter()
    status = run_job(runtime, stores, load.load_job({"status": Path(polls)}))
    status_s = time.perf_counter() - t
    runtime.close()
    assert isinstance(meta, load.LoadSummary) and isinstance(status, load.LoadSummary)
    return {"meta_rows": meta.rows, "meta_s": meta_s, "poll_rows": status.rows,
            "poll_s": status_s, "new": status.files[0].new_rows, "rss": _rss_mb()}


def phase_report(db: str, out: str) -> dict:
    from kpiflow.packs.stores import jobs
    from kpiflow.packs.stores import report as rep
    from kpiflow.packs.stores.config import StoresSettings
    from kpiflow.store.db import make_engine

    engine = make_engine(f"sqlite:///{db}")
    t = time.perf_counter()
    table, now_us = jobs.build_report(engine, StoresSettings(), jobs.ReportOptions())
    Path(out).write_text(rep.to_csv(table))
    seconds = time.perf_counter() - t
    engine.dispose()
    return {"stores": table.height, "seconds": seconds, "now_us": now_us, "rss": _rss_mb()}


def pandas_report(db: str, now: pd.Timestamp, limit: int | None) -> pd.DataFrame:
    """The straightforward way: read with pandas, then a Python loop per store."""
    conn = sqlite3.connect(db)
    week = now - pd.Timedelta(days=7)
    polls = pd.read_sql_query(
        "SELECT s.store_id, p.ts_us, p.active FROM stores_polls p JOIN stores_stores s "
        "ON s.store_key = p.store_key WHERE p.ts_us <= ?", conn, params=(now.value // 1000,))
    hours = pd.read_sql_query("SELECT s.store_id, h.day, h.start_s, h.end_s FROM stores_hours h "
                              "JOIN stores_stores s ON s.store_key = h.store_key", conn)
    zones = pd.read_sql_query("SELECT store_id, timezone FROM stores_stores", conn)
    conn.close()
    tz = dict(zip(zones.store_id, zones.timezone.fillna("America/Chicago"), strict=True))
    hours_by = {k: list(g[["day", "start_s", "end_s"]].itertuples(index=False))
                for k, g in hours.groupby("store_id")}
    now_us, week_us = now.value // 1000, week.value // 1000
    windows = {"hour": now_us - 3_600_000_000, "day": now_us - 86_400_000_000, "week": week_us}
    rows = []
    for n, (store_id, g) in enumerate(polls.groupby("store_id", sort=True)):
        if limit is not None and n >= limit:
            break
        g = g.sort_values("ts_us")
        before = g[g.ts_us < week_us].tail(1)
        g = pd.concat([before, g[g.ts_us >= week_us]])
        zone = ZoneInfo(tz.get(store_id, "America/Chicago"))
        shifts = hours_by.get(store_id) or [(d, 0, 86_400) for d in range(7)]
        intervals = []
        day = (week - pd.Timedelta(days=2)).date()
        while day <= (now + pd.Timedelta(days=1)).date():
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for d, s, e in shifts:
                if d != day.weekday():
                    continue
                e = 86_400 if e in (86_399, 86_400) else (e + 86_400 if e <= s else e)
                a = (midnight + timedelta(seconds=int(s))).astimezone(UTC)
                b = (midnight + timedelta(seconds=int(e))).astimezone(UTC)
                intervals.append((int(a.timestamp() * 1e6), int(b.timestamp() * 1e6)))
            day += timedelta(days=1)
        intervals.sort()
        merged: list[list[int]] = []
        for a, b in intervals:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        ts = g.ts_us.to_numpy()
        starts = ts.copy()
        starts[0] = -(2**62)
        ends = np.append(ts[1:], 2**62)
        active = g.active.to_numpy() == 1
        row = {"store_id": store_id}
        for name, lo in windows.items():
            up = down = 0
            for a, b in merged:
                a, b = max(a, lo), min(b, now_us)
                if b <= a:
                    continue
                overlap = np.clip(np.minimum(ends, b) - np.maximum(starts, a), 0, None)
                up += int(overlap[active].sum())
                down += int(overlap[~active].sum())
            unit = 60e6 if name == "hour" else 3600e6
            row[f"uptime_last_{name}"] = round(up / unit, 2)
            row[f"downtime_last_{name}"] = round(down / unit, 2)
        rows.append(row)
    cols = ["store_id", "uptime_last_hour", "uptime_last_day", "uptime_last_week",
            "downtime_last_hour", "downtime_last_day", "downtime_last_week"]
    return pd.DataFrame(rows)[cols]


def phase_pandas(db: str, now_us: int, ours: str, limit: int | None) -> dict:
    t = time.perf_counter()
    frame = pandas_report(db, pd.Timestamp(now_us * 1000, tz="UTC"), limit)
    seconds = time.perf_counter() - t
    mine = pd.read_csv(ours, dtype={"store_id": str}).head(len(frame))
    diff = (mine.set_index("store_id") - frame.set_index("store_id")).abs().max().max()
    return {"stores": len(frame), "seconds": seconds, "max_abs_diff": float(diff),
            "rss": _rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pandas-stores", type=int, default=None,
                        help="Time pandas on the first N stores only and scale (default: all).")
    args = parser.parse_args()
    from kpiflow.packs.stores import generate

    with tempfile.TemporaryDirectory() as tmp:
        polls, db, out = f"{tmp}/polls.csv", f"{tmp}/kpiflow.db", f"{tmp}/report.csv"
        t = time.perf_counter()
        ids = generate.store_ids(FOLDER / "menu_hours.csv", FOLDER / "timezones.csv")
        count = generate.generate(ids, datetime(2023, 1, 18, tzinfo=UTC), args.days, args.seed,
                                  Path(polls))
        gen_s = time.perf_counter() - t
        loaded = _phase(phase_load, db, polls)
        reported = _phase(phase_report, db, out)
        pandas = _phase(phase_pandas, db, reported["now_us"], out, args.pandas_stores)
    scale = reported["stores"] / pandas["stores"]
    pandas_s = pandas["seconds"] * scale
    print(f"machine: {mp.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"generated {count:,} polls for {len(ids):,} stores in {gen_s:.1f} s\n")
    print("| what | rows | seconds | rows/s | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| load polls into SQLite | {loaded['poll_rows']:,} | {loaded['poll_s']:.2f} | "
          f"{loaded['poll_rows'] / loaded['poll_s']:,.0f} | {loaded['rss']:,.0f} MB |")
    print(f"| load hours + timezones | {loaded['meta_rows']:,} | {loaded['meta_s']:.2f} | "
          f"{loaded['meta_rows'] / loaded['meta_s']:,.0f} | (same process) |")
    print(f"| report, vectorised ({reported['stores']:,} stores) | {count:,} | "
          f"{reported['seconds']:.2f} | | {reported['rss']:,.0f} MB |")
    label = "" if pandas["stores"] == reported["stores"] else (
        f", timed on {pandas['stores']:,} stores and scaled")
    print(f"| report, per-store pandas{label} | {count:,} | {pandas_s:.2f} | | "
          f"{pandas['rss']:,.0f} MB |")
    print(f"\nratio pandas / vectorised: {pandas_s / reported['seconds']:.1f}x; "
          f"largest difference between the two reports: {pandas['max_abs_diff']:.2f}")


if __name__ == "__main__":
    main()
