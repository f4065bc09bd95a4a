"""Start-up: what a real `kpiflow` process imports for help and for the agent (issue 15).

Packs are discovered through their entry points without loading their heavy modules: each
check runs the installed `kpiflow` script under `python -X importtime` and reads the
top-level packages it imported. What it takes in seconds is measured in
docs/benchmarks.md, never here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpiflow.registry import discover_packs

KPIFLOW = Path(sys.executable).parent / "kpiflow"

HEAVY = frozenset({"polars", "duckdb", "bokeh", "pyspark", "psutil", "pandas", "numpy", "pyarrow",
                   "fastapi", "starlette", "uvicorn", "alembic", "sqlalchemy", "apscheduler",
                   "prometheus_client", "httpx"})


def _top_level(importtime: str) -> set[str]:
    """The top-level packages named in `-X importtime` output."""
    names = set()
    for line in importtime.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def _imports(*args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    done = subprocess.run([sys.executable, "-X", "importtime", str(KPIFLOW), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return _top_level(done.stderr), done.stdout


def test_the_parser_of_importtime_sees_a_heavy_import() -> None:
    # The check below must be able to fail: a process that does import polars is seen doing so.
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import polars"],
                          capture_output=True, text=True, timeout=120)
    assert "polars" in _top_level(done.stderr)


def test_kpiflow_help_imports_no_heavy_module() -> None:
    imported, shown = _imports("--help")
    assert imported & HEAVY == set()
    assert {"pydantic", "pydantic_settings"} & imported == set()  # settings load per command
    for pack in discover_packs():  # every pack and its commands are still listed
        assert pack.name in shown
        for command in pack.commands:
            assert command.name in shown


@pytest.mark.parametrize("pack", [p.name for p in discover_packs()])
def test_pack_help_imports_no_heavy_module(pack: str, tmp_path: Path) -> None:
    # The root callback parses DATABASE_URL, which is SQLAlchemy's URL parser: that one stays.
    imported, shown = _imports("--database-url", f"sqlite:///{tmp_path / 'k.db'}", pack, "--help")
    assert imported & (HEAVY - {"sqlalchemy"}) == set()
    assert "Commands" in shown


def test_the_agent_imports_psutil_and_httpx_and_nothing_heavier(tmp_path: Path) -> None:
    imported, _ = _imports("agent", "--help")
    assert imported & HEAVY == set()
    # A running agent (no server there: it queues) loads psutil and httpx, and only those.
    agent = subprocess.Popen(
        [sys.executable, "-X", "importtime", str(KPIFLOW), "agent", "--server",
         "http://127.0.0.1:9", "--interval", "0.2", "--state-dir", str(tmp_path / "agent")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "agent").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # a few samples taken and queued
    agent.send_signal(signal.SIGTERM)
    out, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err[-2000:]
    assert "agent stopped" in out
    running = _top_level(err)
    assert running & HEAVY == {"psutil", "httpx"}
    assert "sqlalchemy" not in running and "pydantic_settings" not in running


def test_a_pass_with_nothing_to_do_loads_no_parser_engine_or_migrations(tmp_path: Path) -> None:
    subprocess.run([str(KPIFLOW), "network", "generate", "--out", str(tmp_path / "data"),
                    "--start", "2026-03-01T00:00Z", "--hours", "0.25", "--rows-per-interval",
                    "50"], check=True, capture_output=True, timeout=120)
    run = ("--database-url", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir",
           str(tmp_path / "data"), "--state-dir", str(tmp_path / "state"), "-q", "network", "run")
    first, _ = _imports(*run)
    assert "duckdb" in first  # new files: the KPIs are computed
    assert {"polars", "alembic"} <= first  # parsed the files; created the schema
    _imports(*run)  # files written within the timestamp granularity of a read are read again
    again, _ = _imports(*run)
    # Nothing new: no parser (polars, numpy), no KPI engine, no Alembic (the schema is at the
    # remembered heads), nothing of the server or the other packs.
    assert again & HEAVY == {"sqlalchemy"}
