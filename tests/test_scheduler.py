"""The scheduler of `serve`: runs that start late still run."""

from __future__ import annotations

import time
from pathlib import Path

from kpiflow.config import Settings
from kpiflow.ingest import history
from kpiflow.runtime import Runtime
from kpiflow.scheduler import build_scheduler
from tests import clock_pack


def test_the_first_interval_run_happens_however_late_the_scheduler_starts(
    tmp_path: Path, sqlite_url: str
) -> None:
    # serve builds the scheduler, then starts it; a slow start-up (or a busy host) once made
    # APScheduler skip the due first run as "missed by 1.3 s", and the pass waited a whole interval.
    runtime = Runtime.build(Settings(database_url=sqlite_url, data_dir=tmp_path / "data",
                                     state_dir=tmp_path / "state"), (clock_pack.pack,))
    runtime.ensure_schema()
    scheduler = build_scheduler(runtime)
    time.sleep(2.5)  # the first run is now 2.5 s late: beyond APScheduler's default grace of 1 s
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with runtime.db.connect() as conn:
                ran = history.last_run_per_job(conn).get(("clock", "tick"))
            if ran is not None:
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
        runtime.close()
    assert ran is not None, "the late first run was skipped"
    assert ran["status"] == "ok"
