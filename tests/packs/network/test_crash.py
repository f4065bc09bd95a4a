"""kill -9 at many points of a pass, then a normal pass: the tables equal the reference.

Each crash is a real SIGKILL of a real `kpiflow network run` process, placed exactly by
KPIFLOW_CRASH_AT=<point>:<n> (src/kpiflow/faults.py). The test also checks the process did die
there, so a point that is never reached fails instead of passing silently.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kpiflow.packs.network import generate
from kpiflow.packs.network.tables import dirty_intervals
from kpiflow.store.tables import runs
from tests.helpers import KPIFLOW, make_settings, run_pack
from tests.packs.network import reference
from tests.packs.network.files import deliver
from tests.packs.network.tables_read import read_kpis

TOP_N = 4


def _run_process(tmp: Path, url: str, crash_at: str | None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp / "data"),
           "KPIFLOW_STATE_DIR": str(tmp / "state"), "KPIFLOW_TOP_N": str(TOP_N)}
    env.pop("KPIFLOW_CRASH_AT", None)
    if crash_at:
        env["KPIFLOW_CRASH_AT"] = crash_at
    return subprocess.run([str(KPIFLOW), "network", "run"], env=env, capture_output=True,
                          timeout=300)


def _prepare(tmp: Path, url: str, from_scratch: bool) -> None:
    """Files for two hours; unless from scratch, a first pass saw only part of them."""
    source = tmp / "generated"
    generate.generate(source, datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 2, 150, 2, seed=11)
    files = sorted(source.rglob("*.txt"))
    data = tmp / "data"
    first, late = (files[:0], files) if from_scratch else (files[:30], files[30:])
    for f in first:
        deliver(data / f.relative_to(source), f.read_bytes())
    if not from_scratch:
        run_pack(make_settings(tmp, url), "network", top_n=TOP_N)
    for f in late:  # late parts of the second hour
        deliver(data / f.relative_to(source), f.read_bytes())
    if not from_scratch:
        corrected = data / files[3].relative_to(source)  # a corrected file of the first hour
        deliver(corrected, corrected.read_bytes().replace(b",1000", b",1001"))
        deliver(data / "copies" / files[5].name, files[5].read_bytes())  # identical re-delivery
        deliver(data / "junk.txt", b"\x00\x01 not a csv")


def _check_converged(tmp: Path, url: str) -> None:
    recovery = _run_process(tmp, url, None)
    output = recovery.stdout.decode()
    # Exit 3 (partly done) exactly when this run itself rejected junk.txt: it did unless the
    # killed pass had recorded it already.
    rejected = re.search(r"files rejected\s*\S\s*(\d+)", output)
    assert rejected is not None, output + recovery.stderr.decode()
    expected_code = 3 if int(rejected.group(1)) else 0
    assert recovery.returncode == expected_code, output + recovery.stderr.decode()
    contents = [p.read_bytes() for p in (tmp / "data").rglob("*") if p.is_file()]
    assert read_kpis(url) == reference.kpis(contents, TOP_N)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert list(conn.execute(select(dirty_intervals))) == []
        assert "running" not in set(conn.scalars(select(runs.c.status)))
    engine.dispose()


def _crash_and_recover(tmp: Path, url: str, crash_at: str, from_scratch: bool) -> None:
    _prepare(tmp, url, from_scratch)
    crashed = _run_process(tmp, url, crash_at)
    assert crashed.returncode == -signal.SIGKILL, (
        f"never reached {crash_at}: " + crashed.stdout.decode() + crashed.stderr.decode())
    _check_converged(tmp, url)


AFTER_A_FIRST_PASS = [
    "discovered", "file_read:1", "file_read:5", "file_read:12", "state_written:1",
    "state_written:3", "state_written:10", "ledger_uncommitted:1", "ledger_uncommitted:4",
    "ledger_uncommitted:11", "ledger_committed:1", "ledger_committed:6", "ledger_committed:13",
    "files_done", "kpi_upsert:1", "kpi_upsert:3", "kpi_upsert:5", "kpi_upsert:17",
    "kpi_upsert:23", "hour_committed:1", "recomputed",
]
FROM_SCRATCH = ["file_read:1", "state_written:7", "ledger_committed:20", "kpi_upsert:40",
                "hour_committed:1"]


@pytest.mark.xdist_group("crash")
@pytest.mark.parametrize("crash_at", AFTER_A_FIRST_PASS)
def test_kill_9_after_late_corrected_and_duplicate_files(tmp_path: Path, sqlite_url: str,
                                                         crash_at: str) -> None:
    _crash_and_recover(tmp_path, sqlite_url, crash_at, from_scratch=False)


@pytest.mark.xdist_group("crash")
@pytest.mark.parametrize("crash_at", FROM_SCRATCH)
def test_kill_9_during_a_from_scratch_pass(tmp_path: Path, sqlite_url: str, crash_at: str) -> None:
    _crash_and_recover(tmp_path, sqlite_url, crash_at, from_scratch=True)


@pytest.mark.xdist_group("crash")
@pytest.mark.parametrize("crash_at", ["state_written:2", "ledger_committed:3", "kpi_upsert:5"])
def test_kill_9_on_server_databases(tmp_path: Path, server_database_url: str,
                                    crash_at: str) -> None:
    _crash_and_recover(tmp_path, server_database_url, crash_at, from_scratch=False)


def test_soak_random_kill_timing(tmp_path: Path, sqlite_url: str) -> None:
    """Kills at random moments; KPIFLOW_SOAK_KILLS sets how many (docs/reliability.md)."""
    kills = int(os.environ.get("KPIFLOW_SOAK_KILLS", "3"))
    rng = random.Random(int(os.environ.get("KPIFLOW_SOAK_SEED", "1")))
    source = tmp_path / "generated"
    generate.generate(source, datetime(2026, 10, 25, tzinfo=UTC), 3, 3000, 3, seed=12)
    files = sorted(source.rglob("*.txt"))
    env = {**os.environ, "DATABASE_URL": sqlite_url, "DATA_DIR": str(tmp_path / "data"),
           "KPIFLOW_STATE_DIR": str(tmp_path / "state"), "KPIFLOW_TOP_N": str(TOP_N)}
    for k in range(kills):
        batch = files[k * len(files) // kills:(k + 1) * len(files) // kills]
        for f in batch:
            deliver(tmp_path / "data" / f.relative_to(source), f.read_bytes())
        proc = subprocess.Popen([str(KPIFLOW), "network", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    shutil.rmtree(source)
    _check_converged(tmp_path, sqlite_url)
