"""The run log when passes of different jobs start at the same instant, on every database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from sqlalchemy import func, select

from kpiflow.config import Settings
from kpiflow.ingest import runlog
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.store.tables import runs


def _start(rt: Runtime, together: threading.Barrier, job: str) -> int:
    together.wait()
    with rt.db.begin() as conn:
        return runlog.start(conn, "hosts", job)


def test_two_jobs_starting_at_once_both_get_a_run(tmp_path: Path, database_url: str) -> None:
    # On MariaDB's default isolation, the start's update took gap locks that each insert then
    # waited on: one of two passes starting together died of a deadlock.
    rt = Runtime.build(Settings(database_url=database_url, data_dir=tmp_path,
                                state_dir=tmp_path / "state"), discover_packs())
    rt.ensure_schema()
    ids: set[int] = set()
    with ThreadPoolExecutor(2) as pool:
        for _ in range(40):
            ids |= set(pool.map(partial(_start, rt, threading.Barrier(2)), ("flush", "alarms")))
    with rt.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == len(ids) == 80
    rt.close()
