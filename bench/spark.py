"""Benchmark: a from-scratch network pass on the duckdb engine and on the spark engine.

Measures rows/s of both engines on the same generated files, Spark's fixed cost (JVM and session
start; a pass with nothing to do), and Spark's speed-up from `local[1]` to `local[N]`. Each
figure comes from a fresh child process (its own JVM), timed inside the child; the load average
is recorded next to the figures, since the machine may be shared. Writes its section of
docs/benchmarks.md.

    .venv/bin/python bench/spark.py --rows-per-interval 100000 --hours 1 --parts 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench/spark.py: begin -->", "<!-- bench/spark.py: end -->"
START = "2026-03-01T00:00:00+00:00"


# --- children: one measurement each, in a fresh process -----------------------------------------


def child(engine: str, master: str, data: str, work: str) -> dict[str, Any]:
    """One from-scratch pass (and, for spark, the session start before it), timed inside."""
    from kpiflow.config import Settings
    from kpiflow.lifecycle import run_job
    from kpiflow.registry import discover_packs
    from kpiflow.runtime import Runtime

    result: dict[str, Any] = {}
    session = None
    if engine == "spark":
        started = time.perf_counter()
        from kpiflow.engine.spark_engine import start_session

        session = start_session(master)
        session.sparkContext.setLogLevel("ERROR")
        result["session_s"] = time.perf_counter() - started
    settings = Settings(database_url=f"sqlite:///{work}/k.db", data_dir=Path(data),
                        state_dir=Path(work) / "state", engine=engine, spark_master=master)
    runtime = Runtime.build(settings, discover_packs())
    try:
        runtime.ensure_schema()
        started = time.perf_counter()
        summary = run_job(runtime, runtime.pack("network"), None)
        result["seconds"] = time.perf_counter() - started
        result["rows"] = summary.counts()["rows"]
    finally:
        runtime.close()
        if session is not None:
            session.stop()
    return result


def run_child(engine: str, master: str, data: Path) -> dict[str, Any]:
    """Run `child` in a new interpreter; its JSON result plus the process's wall seconds."""
    with tempfile.TemporaryDirectory(prefix="kpiflow-bench-") as work:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "_child", json.dumps([engine, master, str(data), work])],
            capture_output=True, text=True, env={k: v for k, v in os.environ.items()
                                                 if not k.startswith("KPIFLOW_")}, check=False)
        if done.returncode != 0:
            raise SystemExit(f"child {engine} {master} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall"] = time.perf_counter() - started
        return result


def tables_equal(data: Path) -> bool:
    """The KPI tables of a duckdb pass and a spark pass (local[*]) over `data` are equal."""
    code = """
import json, sys, tempfile
from pathlib import Path
from sqlalchemy import create_engine, text
from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
out = []
for engine in ("duckdb", "spark"):
    with tempfile.TemporaryDirectory() as work:
        s = Settings(database_url=f"sqlite:///{work}/k.db", data_dir=Path(sys.argv[1]),
                     state_dir=Path(work) / "state", engine=engine)
        rt = Runtime.build(s, discover_packs())
        run_job(rt, rt.pack("network"), None)
        rows = []
        with rt.db.connect() as c:
            for t in ("kpi_service_traffic_volume", "kpi_cell_unique_users"):
                rows += [list(r) for r in c.execute(text(
                    "SELECT * FROM " + t + " ORDER BY 2, 4, 5, 6")).all()]
        rt.close()
        out.append([r[1:] for r in rows])
print(json.dumps(out[0] == out[1]))
"""
    done = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True,
                          text=True, check=False)
    return done.returncode == 0 and done.stdout.strip().endswith("true")


# --- the parent ---------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows-per-interval", type=int, default=1_000_000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 2, help="N of local[N]")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    ap.add_argument("--no-equal", action="store_true",
                    help="skip the tables-equal check (two more passes; for large sizes)")
    a = ap.parse_args()
    from kpiflow.packs.network.generate import generate

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kpiflow-bench-data-") as folder:
        data, empty = Path(folder) / "files", Path(folder) / "empty"
        empty.mkdir()
        files = generate(data, datetime.fromisoformat(START), a.hours, a.rows_per_interval,
                         a.parts, a.seed)
        size = sum(f.stat().st_size for f in files)
        res: dict[str, Any] = {"files": len(files), "bytes": size}
        res["empty"] = run_child("spark", "local[1]", empty)
        res["duckdb"] = run_child("duckdb", "local[*]", data)
        res["spark_1"] = run_child("spark", "local[1]", data)
        res["spark_n"] = run_child("spark", f"local[{a.cores}]", data)
        res["equal"] = None if a.no_equal else tables_equal(data)
    res |= {"load_start": load_start, "load_end": os.getloadavg(), "cores": a.cores,
            "args": vars(a), "when": datetime.now(UTC).isoformat(timespec="seconds")}
    text = render(res)
    print(text)
    if not a.no_doc:
        write_section(DOC, text)


def render(res: dict[str, Any]) -> str:
    """The docs section."""
    import pyspark

    a, rows = res["args"], res["duckdb"]["rows"]
    cmd = (f".venv/bin/python bench/spark.py --rows-per-interval {a['rows_per_interval']} "
           f"--hours {a['hours']:g} --parts {a['parts']} --cores {a['cores']} --seed {a['seed']}"
           + (" --no-equal" if a["no_equal"] else ""))
    load = ", ".join(f"{x:.2f}" for x in res["load_start"])
    load_end = ", ".join(f"{x:.2f}" for x in res["load_end"])

    def line(what: str, r: dict[str, Any]) -> str:
        return (f"| {what} | {r['seconds']:.2f} | {rows / r['seconds'] / 1e6:.2f} M | "
                f"{r['seconds'] / res['duckdb']['seconds']:.2f}x | {r.get('session_s', 0):.2f} | "
                f"{r['wall']:.2f} |")

    n = res["cores"]
    speedup = res["spark_1"]["seconds"] / res["spark_n"]["seconds"]
    return "\n".join([
        "## Spark engine (bench/spark.py)", "",
        f"Measured {res['when']} on {os.cpu_count()} cores, {platform.platform()}; Python "
        f"{platform.python_version()}, pyspark {pyspark.__version__}. Load average (1, 5, 15 min) "
        f"at the start: {load}; at the end: {load_end} (the machine is shared: compare ratios "
        "of one run). Reproduce with:", "", "```", cmd, "```", "",
        f"Data: {rows:,} rows in {res['files']} files ({res['bytes'] / 2**20:,.0f} MiB), "
        "`kpiflow network generate` output; one from-scratch pass into SQLite per row below, "
        "each in a fresh process (the pass timed inside it; the session start separately).", "",
        "| what | pass s | rows/s | vs duckdb | session start s | process wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        line("duckdb engine", res["duckdb"]),
        line("spark engine, `local[1]`", res["spark_1"]),
        line(f"spark engine, `local[{n}]`", res["spark_n"]), "",
        f"- Spark's fixed cost: JVM and session start {res['empty']['session_s']:.2f} s; a pass "
        f"with no file at all {res['empty']['seconds']:.2f} s (process wall "
        f"{res['empty']['wall']:.2f} s).",
        f"- Speed-up from `local[1]` to `local[{n}]`: {speedup:.2f}x.",
        f"- KPI tables of a duckdb pass and a spark pass over these files equal: "
        f"{'not checked (--no-equal)' if res['equal'] is None else 'yes' if res['equal'] else '**no**'}.",
    ])


def write_section(doc: Path, text: str) -> None:
    """Replace only this benchmark's section (appended the first time)."""
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    section = f"{BEGIN}\n{text.rstrip()}\n{END}\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        doc.write_text(head + section + rest.split(END, 1)[1].lstrip("\n"))
    else:
        doc.write_text(current.rstrip("\n") + "\n\n" + section)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        print(json.dumps(child(*json.loads(sys.argv[2]))))
    else:
        main()
