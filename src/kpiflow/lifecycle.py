"""The run lifecycle: core owns every pass, a pack owns only its domain.

`run_job` is what the CLI, the scheduler and `POST /api/v1/runs/{pack}` call. It opens the
database (once per process, through the runtime), brings the schema to head (once per process),
takes the pack's run lock, records the run, hands the job a `RunContext`, records the job's
counts and translates database errors into typed ones. The job itself never connects, migrates,
locks or writes the run log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from pydantic_settings import BaseSettings
from sqlalchemy.exc import SQLAlchemyError

from kpiflow.engine.select import kpi_engine_factory
from kpiflow.errors import DatabaseUnavailable, LockBusy
from kpiflow.faults import from_environment
from kpiflow.ingest import runlog
from kpiflow.ingest.checkpoints import Checkpoints
from kpiflow.registry import Job, Pack, Progress, RunContext, Summary, no_progress
from kpiflow.runtime import Runtime
from kpiflow.state import StateStore
from kpiflow.store.db import redacted
from kpiflow.store.lock import LockCheck, run_lock

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseSettings)


def run_job(
    runtime: Runtime, pack: Pack[S], job: Job[S] | str | None = None,
    progress: Progress = no_progress, pack_settings: S | None = None,
) -> Summary:
    """Run one job of `pack` (default: its first) as a recorded, locked pass; return its summary.

    Raises the typed errors (DatabaseUnavailable, LockBusy, StateError, DataDirMissing, ...);
    a failed pass is recorded as failed with its error before the error goes up.
    """
    chosen = job if isinstance(job, Job) else pack.job(job)
    started = time.perf_counter()
    try:
        summary = _run(runtime, pack, chosen, progress, pack_settings, started)
    except LockBusy:
        raise  # not a pass: another one is running
    except Exception as exc:
        _log_pass(pack, chosen, "failed", time.perf_counter() - started, {}, exc)
        raise
    _log_pass(pack, chosen, "ok", time.perf_counter() - started, summary.counts())
    return summary


def _log_pass(pack: Pack[Any], job: Job[Any], outcome: str, seconds: float,
              counts: dict[str, int | float], exc: BaseException | None = None) -> None:
    """The one log line of a pass; its parts are also record fields (for JSON logs)."""
    error = None if exc is None else (str(exc) or type(exc).__name__)
    detail = error or " ".join(f"{k}={v}" for k, v in counts.items())
    # A failed pass is a warning here: the caller reports the error (CLI red line, scheduler).
    log.log(logging.INFO if exc is None else logging.WARNING,
            "pass %s.%s %s in %.2fs: %s", pack.name, job.name, outcome, seconds, detail,
            extra={"pack": pack.name, "job": job.name, "outcome": outcome,
                   "seconds": round(seconds, 3), "counts": counts, "error": error})


def _run(
    runtime: Runtime, pack: Pack[S], chosen: Job[S], progress: Progress,
    pack_settings: S | None, started: float,
) -> Summary:
    """The pass itself: schema, lock, run log, the job, its counts."""
    settings = pack_settings if pack_settings is not None else runtime.settings_for(pack)
    with _database_errors(runtime):
        runtime.ensure_schema()
        db = runtime.db
        lock = (run_lock(db, chosen.lock_name(pack.name), runtime.settings.resolved_state_dir,
                         runtime.settings.lock_timeout_seconds)
                if chosen.locked else nullcontext(_never_lost))
        with lock as lock_held:
            with db.begin() as conn:
                run_id = runlog.start(conn, pack.name, chosen.name)
            ctx = RunContext(
                settings=runtime.settings,
                pack_settings=settings,
                db=db,
                state=StateStore(runtime.settings.resolved_state_dir, pack.name),
                checkpoints=Checkpoints(db, pack.name),
                progress=progress,
                safe_point=_safe_points(lock_held),
                kpi_engine_factory=kpi_engine_factory(runtime.settings),
                run_id=run_id,
            )
            try:
                summary = chosen.run(ctx)
            except Exception as exc:
                _record_failure(runtime, run_id, time.perf_counter() - started, exc)
                raise
            finally:
                ctx.close()
            seconds = time.perf_counter() - started
            with db.begin() as conn:
                runlog.finish(conn, run_id, summary.counts(), seconds)
    return summary


def _never_lost() -> None:
    """An unlocked job has no lock to lose."""


def _safe_points(lock_held: LockCheck) -> Callable[[str], None]:
    crash_points = from_environment()

    def safe_point(point: str) -> None:
        """Crash here if a test asks; never go on without the lock."""
        crash_points(point)
        lock_held()

    return safe_point


def _record_failure(runtime: Runtime, run_id: int, seconds: float, exc: BaseException) -> None:
    try:
        with runtime.db.begin() as conn:
            runlog.finish(conn, run_id, {}, seconds, error=str(exc) or type(exc).__name__)
    except SQLAlchemyError:
        pass  # the database is what failed; the original error says why


@contextmanager
def _database_errors(runtime: Runtime) -> Iterator[None]:
    """A dropped connection surfaces as several SQLAlchemy error types: one typed error."""
    try:
        yield
    except SQLAlchemyError as exc:
        orig: Any = getattr(exc, "orig", None) or exc
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        raise DatabaseUnavailable(
            f"lost database {redacted(runtime.settings.database_url)}: {reason}"
        ) from exc
