"""KPIFLOW_ENGINE picks the KPI engine; an unknown name is a clear error listing the engines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kpiflow.config import ENGINES, Settings
from kpiflow.engine.duckdb_engine import DuckDBEngine
from kpiflow.engine.select import kpi_engine_factory

KPIFLOW = Path(sys.executable).with_name("kpiflow")


def test_duckdb_is_the_default_engine() -> None:
    engine = kpi_engine_factory(Settings())()
    try:
        assert isinstance(engine, DuckDBEngine)
    finally:
        engine.close()


def test_an_unknown_engine_names_the_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIFLOW_ENGINE", "nope")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert f"unknown engine 'nope'; engines: {', '.join(ENGINES)}" in str(caught.value)


def test_the_cli_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    env |= {"KPIFLOW_ENGINE": "nope", "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
            "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run([str(KPIFLOW), "db", "upgrade"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: invalid setting engine: unknown engine 'nope'; engines: "
                     f"{', '.join(ENGINES)}"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "k.db").exists()  # nothing was done


def test_network_run_takes_the_engine_flag(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIFLOW_")}
    (tmp_path / "data").mkdir()
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}", "DATA_DIR": str(tmp_path / "data"),
            "NO_COLOR": "1", "COLUMNS": "200"}
    wrong = subprocess.run([str(KPIFLOW), "network", "run", "--engine", "nope"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 2  # a refused option value is a usage error
    assert wrong.stderr.strip().splitlines() == [
        f"error: --engine must be one of: {', '.join(ENGINES)} (not 'nope')"]
    assert not (tmp_path / "k.db").exists()  # refused before anything was done
    done = subprocess.run([str(KPIFLOW), "network", "run", "--engine", "duckdb", "--format",
                           "json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"files_new": 0' in done.stdout


@pytest.mark.parametrize(("master", "cores"), [
    ("local", 1), ("local[1]", 1), ("local[2]", 2), ("local[*]", os.cpu_count() or 1),
    ("local[4,2]", 4), ("spark://127.0.0.1:7077", None), ("yarn", None), ("k8s://h:443", None)])
def test_a_local_master_names_its_cores(master: str, cores: int | None) -> None:
    # a session kpiflow starts on a local master gets this many shuffle partitions
    from kpiflow.engine.spark_engine import local_cores

    assert local_cores(master) == cores


def test_a_local_driver_gets_a_quarter_of_the_memory_within_bounds() -> None:
    from kpiflow.engine.spark_engine import local_driver_memory

    total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20
    assert local_driver_memory() == f"{min(max(total_mib // 4, 1024), 8192)}m"
    for bad in ("lots", "0", "4 g", "-1g", "4gb"):
        with pytest.raises(ValidationError, match="spark_driver_memory"):
            Settings(spark_driver_memory=bad)
    assert Settings(spark_driver_memory="4g").spark_driver_memory == "4g"


_SHOW_DRIVER_MEMORY = """
import sys
from kpiflow.engine.spark_engine import start_session
session = start_session(sys.argv[1], sys.argv[2] or None)
print(session.sparkContext.getConf().get("spark.driver.memory", "unset"))
session.stop()
"""


@pytest.mark.parametrize(("master", "given", "expected"), [
    ("local[1]", "", "default"), ("local[1]", "1536m", "1536m")])
def test_a_local_session_is_started_with_the_driver_memory(
    master: str, given: str, expected: str
) -> None:
    from kpiflow.engine.spark_engine import local_driver_memory

    # A fresh process: the heap is fixed when the JVM starts, so the test's own session
    # (already running) could not show it.
    done = subprocess.run([sys.executable, "-c", _SHOW_DRIVER_MEMORY, master, given],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = done.stdout.strip().splitlines()[-1]
    assert shown == (local_driver_memory() if expected == "default" else expected)
