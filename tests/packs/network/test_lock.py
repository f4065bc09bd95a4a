"""One pass at a time, on every database; a killed holder leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kpiflow.packs.network import generate
from tests.helpers import KPIFLOW
from tests.packs.network import reference
from tests.packs.network.tables_read import read_kpis


def _start(url: str, data: Path, state: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data),
           "KPIFLOW_STATE_DIR": str(state), "KPIFLOW_TOP_N": "5", **extra}
    return subprocess.Popen([str(KPIFLOW), "network", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _contents(data: Path) -> list[bytes]:
    return [p.read_bytes() for p in data.rglob("*.txt")]


@pytest.mark.xdist_group("processes")
def test_two_passes_at_once_do_not_double_count(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 1, 1, tzinfo=UTC), 1, 20_000, 2, seed=1)
    procs = [_start(database_url, data, tmp_path / "state") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    results = [(p.returncode, out) for p, out in zip(procs, outputs, strict=True)]
    codes = sorted(code for code, _ in results)
    busy = [out for code, out in results if code == 1]
    # Either the second waited its turn behind the lock (both 0) or it said why it stopped.
    assert codes in ([0, 0], [0, 1]), results
    assert all("another network pass is running" in out for out in busy), busy
    assert read_kpis(database_url) == reference.kpis(_contents(data), 5)


@pytest.mark.xdist_group("processes")
def test_waiting_pass_runs_after_the_holder(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 1, 1, tzinfo=UTC), 1, 20_000, 2, seed=2)
    wait = {"KPIFLOW_LOCK_TIMEOUT_SECONDS": "120"}
    procs = [_start(sqlite_url, data, tmp_path / "state", **wait) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert read_kpis(sqlite_url) == reference.kpis(_contents(data), 5)


@pytest.mark.xdist_group("processes")
def test_kill_9_leaves_no_stale_lock(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 1, 1, tzinfo=UTC), 2, 40_000, 2, seed=3)
    victim = _start(database_url, data, tmp_path / "state")
    time.sleep(1.5)  # mid-run: past imports, into discovery or files
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    survivor = _start(database_url, data, tmp_path / "state")
    output = survivor.communicate(timeout=180)[0].decode()
    assert survivor.returncode == 0, output
    assert read_kpis(database_url) == reference.kpis(_contents(data), 5)
