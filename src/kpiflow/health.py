"""Readiness: is the database reachable, is the scheduler alive, is each pack's ingest healthy.

One function for `/readyz` and `kpiflow status`. A pack is not ready when its last
`ready_failed_passes` finished passes all failed (interrupted passes count as failed); its last
pass, that pass's age, and its files waiting, rejected and unreadable are reported either way
(an unreadable file does not make a pack unready: the other files still flow).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from kpiflow.ingest import history, ledger, runlog
from kpiflow.runtime import Runtime
from kpiflow.store.tables import runs

SCHEDULER_RUNNING, SCHEDULER_STOPPED, SCHEDULER_OFF = "running", "stopped", "off"


@dataclass(frozen=True)
class PackHealth:
    """One pack's ingest health: its last finished pass and its files."""

    pack: str
    ready: bool
    last_status: str | None = None
    last_job: str | None = None
    last_finished_at: datetime | None = None
    age_seconds: float | None = None
    failed_in_a_row: int = 0
    last_error: str | None = None
    files_waiting: int = 0
    files_unreadable: int = 0  # in the ledger now: kpiflow cannot read them, tried every pass
    files: dict[str, int] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Readiness:
    """The whole answer of `/readyz`: ready only when every part is."""

    ready: bool
    database: str
    scheduler: str
    packs: tuple[PackHealth, ...]
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (times as ISO 8601)."""
        packs = [{**asdict(p), "last_finished_at": _iso(p.last_finished_at)} for p in self.packs]
        return {"status": "ready" if self.ready else "not ready", "ready": self.ready,
                "database": self.database, "scheduler": self.scheduler,
                "reasons": list(self.reasons), "packs": packs}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def pack_health(conn: Connection, pack: str, failed_passes: int, now: datetime) -> PackHealth:
    """One pack's health from the run log and the ledger."""
    stmt = (select(runs).where(runs.c.pack == pack, runs.c.status != runlog.RUNNING)
            .order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(failed_passes))
    recent = [dict(row._mapping) for row in conn.execute(stmt)]
    files = history.ledger_status_counts(conn, pack)
    unreadable = files.get(ledger.UNREADABLE, 0)
    if not recent:
        return PackHealth(pack, ready=True, files_unreadable=unreadable, files=files, reason=None)
    last = recent[0]
    failed = 0
    for run in recent:
        if run["status"] == runlog.OK:
            break
        failed += 1
    finished = _utc(last["finished_at"] or last["started_at"])
    counts = runlog.decode_counts(last["counts"])
    ready = failed < failed_passes
    reason = None if ready else (
        f"pack {pack}: its last {failed} passes failed (last error: {last['error']})")
    return PackHealth(
        pack, ready=ready, last_status=last["status"], last_job=last["job"],
        last_finished_at=finished,
        age_seconds=round((now - finished).total_seconds(), 3) if finished else None,
        failed_in_a_row=failed, last_error=last["error"],
        files_waiting=int(counts.get("files_waiting", 0)), files_unreadable=unreadable,
        files=files, reason=reason)


def readiness(runtime: Runtime, scheduler: str = SCHEDULER_OFF) -> Readiness:
    """Check the database, take the scheduler's state (`running`, `stopped`, `off`) as given,
    and judge every pack's recent passes."""
    reasons: list[str] = []
    if scheduler == SCHEDULER_STOPPED:
        reasons.append("the scheduler is not running")
    now = datetime.now(UTC)
    try:
        with runtime.db.connect() as conn:
            if not inspect(conn).has_table(runs.name):  # a new database: no pass has run yet
                return Readiness(not reasons, "ok", scheduler,
                                 tuple(PackHealth(p.name, True) for p in runtime.packs),
                                 tuple(reasons))
            packs = tuple(pack_health(conn, p.name, runtime.settings.ready_failed_passes, now)
                          for p in runtime.packs)
    except SQLAlchemyError as exc:
        orig: Any = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        reasons.insert(0, f"database unreachable: {first}")
        return Readiness(False, f"unreachable: {first}", scheduler, (), tuple(reasons))
    reasons += [p.reason for p in packs if p.reason]
    return Readiness(not reasons, "ok", scheduler, packs, tuple(reasons))
