"""Reports as runs: build one, run one in the background, recover interrupted ones, precompute.

A report run is a row in `stores_reports` (Running, Complete or Failed) and, once complete, a
CSV file under `<state dir>/stores/reports/`. The worker computing a run holds the run lock
`stores-report-<id>` (flock on SQLite, an advisory lock on PostgreSQL and MariaDB), which the
operating system or the server frees when the process dies. So a Running row whose lock can be
taken has lost its worker: it is re-run, or marked Failed after MAX_ATTEMPTS tries.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, insert, update

from kpiflow.config import Settings
from kpiflow.errors import KpiflowError, LockBusy, StateError
from kpiflow.packs.stores import queries
from kpiflow.packs.stores import report as rep
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.packs.stores.tables import reports
from kpiflow.registry import Progress, RunContext, ServeContext, Summary, no_progress
from kpiflow.store.lock import run_lock

log = logging.getLogger(__name__)

RUNNING, COMPLETE, FAILED = "Running", "Complete", "Failed"
MAX_ATTEMPTS = 3
PACK = "stores"


class NoPolls(KpiflowError):
    """There are no polls to report on."""


@dataclass(frozen=True)
class ReportOptions:
    """What a report is asked for: its "now" (default: the latest poll) and extra columns."""

    now_us: int | None = None
    detail: bool = False
    max_hold_us: int | None = None


def build_report(
    db: Engine, stores_settings: StoresSettings, options: ReportOptions,
    progress: Progress = no_progress, store_ids: list[str] | None = None,
) -> tuple[pl.DataFrame, int]:
    """The report table and the "now" it was computed for."""
    with db.connect() as conn:
        now_us = options.now_us if options.now_us is not None else queries.latest_poll_us(conn)
        if now_us is None:
            raise NoPolls("no polls loaded yet; run `kpiflow stores load --status FILE` first")
        progress("read", 0, 1)
        inputs = queries.report_inputs(conn, now_us, stores_settings.stores_default_timezone,
                                       store_ids)
        progress("read", 1, 1)
    numbers = rep.compute(inputs, options.max_hold_us, progress)
    table = rep.to_table(numbers, detail=options.detail,
                         unknown=options.detail and options.max_hold_us is not None)
    return table, now_us


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file and a rename: readers see old or new.

    Only a regular file (or nothing) at `path` is replaced: renaming over a device or FIFO
    would put a file in its place (as root, `-o /dev/zero` would replace the device).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if path.exists() and not path.is_file():
            raise StateError(f"cannot write {path}: not a regular file; give a file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        with contextlib.suppress(OSError, ValueError):  # e.g. a name too long for the file system
            tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StateError(f"cannot write {path}: {reason}") from exc


def report_lock(report_id: str) -> str:
    """The name of the lock a worker holds while it computes a report run."""
    return f"{PACK}-report-{report_id}"


def report_path(settings: Settings, report_id: str) -> Path:
    """Where the CSV of a completed report run lives."""
    return settings.resolved_state_dir / PACK / "reports" / f"{report_id}.csv"


def combined_path(settings: Settings, stores_settings: StoresSettings) -> Path:
    """Where the precomputed report goes."""
    return (stores_settings.stores_combined_report
            or settings.resolved_state_dir / PACK / "combined_report.csv")


def create_run(db: Engine, options: ReportOptions) -> str:
    """Record a new Running report; returns its id."""
    report_id = str(uuid.uuid4())
    with db.begin() as conn:
        conn.execute(insert(reports).values(
            report_id=report_id, status=RUNNING, now_us=options.now_us,
            detail=int(options.detail), max_hold_s=None if options.max_hold_us is None
            else options.max_hold_us // 1_000_000, stores_done=0, stores_total=0, attempts=0,
            requested_at=datetime.now(UTC)))
    return report_id


def execute_run(
    db: Engine, settings: Settings, stores_settings: StoresSettings, report_id: str
) -> str:
    """Compute one report run under its lock; returns its final status (or Running if busy)."""
    try:
        with run_lock(db, report_lock(report_id), settings.resolved_state_dir):
            return _execute_locked(db, settings, stores_settings, report_id)
    except LockBusy:
        return RUNNING  # another worker has it


def _set(db: Engine, report_id: str, **values: object) -> None:
    with db.begin() as conn:
        conn.execute(update(reports).where(reports.c.report_id == report_id).values(**values))


def _execute_locked(
    db: Engine, settings: Settings, stores_settings: StoresSettings, report_id: str
) -> str:
    with db.connect() as conn:
        row = queries.report_row(conn, report_id)
    if row is None or row["status"] != RUNNING:
        return FAILED if row is None else str(row["status"])
    if row["attempts"] >= MAX_ATTEMPTS:
        _set(db, report_id, status=FAILED, finished_at=datetime.now(UTC),
             error=f"interrupted {row['attempts']} times; not retried")
        return FAILED
    _set(db, report_id, attempts=row["attempts"] + 1, stores_done=0)
    options = ReportOptions(
        now_us=row["now_us"], detail=bool(row["detail"]),
        max_hold_us=None if row["max_hold_s"] is None else row["max_hold_s"] * 1_000_000)

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "stores":
            _set(db, report_id, stores_done=done, stores_total=total)

    try:
        table, now_us = build_report(db, stores_settings, options, progress)
        write_atomic(report_path(settings, report_id), rep.to_csv(table))
    except KpiflowError as exc:
        _set(db, report_id, status=FAILED, error=str(exc), finished_at=datetime.now(UTC))
        return FAILED
    except Exception as exc:  # a bug must not leave the run at Running forever
        log.exception("report %s crashed", report_id)
        _set(db, report_id, status=FAILED, error=f"internal error: {exc}"[:2000],
             finished_at=datetime.now(UTC))
        return FAILED
    _set(db, report_id, status=COMPLETE, now_us=now_us, rows=table.height,
         finished_at=datetime.now(UTC))
    return COMPLETE


def orphaned(db: Engine, settings: Settings, report_id: str) -> bool:
    """True when no live worker holds the run's lock (its worker died with its process)."""
    try:
        with run_lock(db, report_lock(report_id), settings.resolved_state_dir):
            return True
    except LockBusy:
        return False


class ReportWorker:
    """Background threads computing report runs; one per API app, on the app's engine."""

    def __init__(self, db: Engine, settings: Settings, stores_settings: StoresSettings) -> None:
        self.db = db
        self.settings = settings
        self.stores_settings = stores_settings
        self._pool = ThreadPoolExecutor(stores_settings.stores_report_workers,
                                        thread_name_prefix="stores-report")
        self._in_flight: set[str] = set()
        self._guard = threading.Lock()

    def submit(self, report_id: str) -> None:
        """Queue a run unless this worker already has it."""
        with self._guard:
            if report_id in self._in_flight:
                return
            self._in_flight.add(report_id)
        self._pool.submit(self._run, report_id)

    def _run(self, report_id: str) -> None:
        try:
            execute_run(self.db, self.settings, self.stores_settings, report_id)
        except Exception:
            log.exception("report %s failed", report_id)
        finally:
            with self._guard:
                self._in_flight.discard(report_id)

    def owns(self, report_id: str) -> bool:
        """True while this worker has the run queued or running."""
        with self._guard:
            return report_id in self._in_flight

    def recover(self, db: Engine, report_id: str) -> None:
        """Re-run a Running report whose worker is gone (e.g. the server restarted)."""
        if not self.owns(report_id) and orphaned(db, self.settings, report_id):
            log.info("report %s lost its worker; running it again", report_id)
            self.submit(report_id)

    def shutdown(self) -> None:
        """Stop taking runs; wait for the current ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class PrecomputeSummary(Summary):
    """What the hourly job did: reports re-run, stores in the combined report."""

    reports_recovered: int = 0
    stores: int = 0
    as_of_us: int = 0


def precompute(ctx: RunContext[StoresSettings]) -> PrecomputeSummary:
    """The hourly job: re-run interrupted reports, then write the combined report file."""
    db, settings, stores_settings = ctx.db, ctx.settings, ctx.pack_settings
    summary = PrecomputeSummary()
    with db.connect() as conn:
        stale = queries.running_reports(conn)
    for report_id in stale:
        if orphaned(db, settings, report_id):
            execute_run(db, settings, stores_settings, report_id)
            summary.reports_recovered += 1
    try:
        table, now_us = build_report(db, stores_settings, ReportOptions())
    except NoPolls:
        return summary
    write_atomic(combined_path(settings, stores_settings), rep.to_csv(table))
    summary.stores, summary.as_of_us = table.height, now_us
    return summary


def start_worker(ctx: ServeContext[StoresSettings]) -> None:
    """`serve` startup hook: the background threads that compute triggered reports."""
    ctx.resources["worker"] = ReportWorker(ctx.db, ctx.settings, ctx.pack_settings)


def stop_worker(ctx: ServeContext[StoresSettings]) -> None:
    """`serve` shutdown hook: finish the running reports, take no more."""
    worker = ctx.resources.pop("worker", None)
    if isinstance(worker, ReportWorker):
        worker.shutdown()
