"""Bounds on on-demand reports: how many may be requested per minute, and how many are kept.

`POST /trigger_report` needs no token in the seed's API, so a flood of requests must neither
queue unbounded work nor fill the disk with CSV files.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from kpiflow.config import Settings
from kpiflow.errors import KpiflowError
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.packs.stores.jobs import RUNNING, report_lock, report_path
from kpiflow.packs.stores.tables import reports
from kpiflow.store.lock import forget


class TooManyReports(KpiflowError):
    """More reports were requested in the last minute than the rate allows."""


def admit(db: Engine, ss: StoresSettings) -> None:
    """Raise TooManyReports when the last minute already had the allowed number of requests."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    with db.connect() as conn:
        recent = conn.scalar(select(func.count()).select_from(reports)
                             .where(reports.c.requested_at >= since)) or 0
    if recent >= ss.stores_report_rate_per_minute:
        raise TooManyReports(
            f"{recent} reports were requested in the last minute, the most allowed "
            f"(KPIFLOW_STORES_REPORT_RATE_PER_MINUTE); try again in a minute"
        )


def prune(db: Engine, settings: Settings, ss: StoresSettings) -> int:
    """Delete the oldest finished reports (row, CSV and lock file) beyond the number kept;
    returns how many."""
    r = reports.c
    with db.begin() as conn:
        old = list(conn.scalars(
            select(r.report_id).where(r.status != RUNNING)
            .order_by(r.requested_at.desc(), r.report_id).offset(ss.stores_reports_kept)))
        for chunk in range(0, len(old), 500):
            conn.execute(delete(reports).where(r.report_id.in_(old[chunk : chunk + 500])))
    for report_id in old:  # after the commit: a kept row never points at a deleted file
        report_path(settings, report_id).unlink(missing_ok=True)
        forget(db, report_lock(report_id), settings.resolved_state_dir)
    return len(old)
