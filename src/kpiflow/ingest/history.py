"""Reads of the ingest tables (runs, ledger, quarantine) for the API and the dashboard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select

from kpiflow.ingest import runlog
from kpiflow.store.tables import ledger, quarantine, runs


def _rows(conn: Connection, stmt: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(stmt)]


def last_runs(conn: Connection, pack: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest passes first, with their counts, duration and outcome."""
    stmt = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
    if pack is not None:
        stmt = stmt.where(runs.c.pack == pack)
    return [row | {"counts": runlog.decode_counts(row["counts"])} for row in _rows(conn, stmt)]


def last_run_per_job(conn: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest pass of each job, by (pack, job), with its counts decoded."""
    newest = (select(func.max(runs.c.id).label("id")).where(runs.c.job.is_not(None))
              .group_by(runs.c.pack, runs.c.job).subquery())
    stmt = select(runs).join(newest, runs.c.id == newest.c.id)
    return {(row["pack"], row["job"]): row | {"counts": runlog.decode_counts(row["counts"])}
            for row in _rows(conn, stmt)}


def ledger_status_counts(conn: Connection, pack: str | None = None) -> dict[str, int]:
    """How many files the ledger holds per status."""
    stmt = select(ledger.c.status, func.count()).group_by(ledger.c.status)
    if pack is not None:
        stmt = stmt.where(ledger.c.pack == pack)
    return {status: int(n) for status, n in conn.execute(stmt)}


def _ledger_select(pack: str | None, status: str | None, *columns: Any) -> Select[Any]:
    stmt = select(*columns).select_from(ledger)
    if pack is not None:
        stmt = stmt.where(ledger.c.pack == pack)
    if status is not None:
        stmt = stmt.where(ledger.c.status == status)
    return stmt


def ledger_rows(
    conn: Connection,
    pack: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Ledger entries, most recently changed first."""
    cols = [c for c in ledger.c if c.name != "mtime_ns"]
    stmt = (
        _ledger_select(pack, status, *cols)
        .order_by(ledger.c.updated_at.desc(), ledger.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return _rows(conn, stmt)


def ledger_count(conn: Connection, pack: str | None = None, status: str | None = None) -> int:
    """How many ledger entries match (for pagination)."""
    return int(conn.execute(_ledger_select(pack, status, func.count())).scalar_one())


def quarantine_rows(
    conn: Connection, pack: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Quarantined rows with the file (or other source) they came from, newest file first,
    then by line; rows from no file grouped by source."""
    stmt = (
        select(quarantine.c.id, quarantine.c.pack,
               func.coalesce(ledger.c.path, quarantine.c.source, "").label("path"),
               quarantine.c.line, quarantine.c.reason, quarantine.c.raw)
        .outerjoin(ledger, ledger.c.id == quarantine.c.ledger_id)
        .order_by(ledger.c.updated_at.desc(), ledger.c.id.desc(), quarantine.c.source,
                  quarantine.c.line, quarantine.c.id)
        .limit(limit)
        .offset(offset)
    )
    if pack is not None:
        stmt = stmt.where(quarantine.c.pack == pack)
    return _rows(conn, stmt)


def quarantine_count(conn: Connection, pack: str | None = None) -> int:
    """How many rows the quarantine holds."""
    stmt = select(func.count()).select_from(quarantine)
    if pack is not None:
        stmt = stmt.where(quarantine.c.pack == pack)
    return int(conn.execute(stmt).scalar_one())
