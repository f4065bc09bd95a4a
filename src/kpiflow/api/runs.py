"""Core routes about ingestion: the run log, the ledger, the quarantine, and Run now."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field

from kpiflow.api import errors
from kpiflow.api.auth import TokenDep
from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.ingest import history
from kpiflow.ingest import ledger as ledger_io
from kpiflow.lifecycle import run_job

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class Run(BaseModel):
    id: int
    pack: str
    job: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(description="running, ok, failed or interrupted.")
    seconds: float | None
    error: str | None
    counts: dict[str, int | float] = Field(
        description="The pack's own counts for this pass (files, rows, intervals updated...).")


class LedgerEntry(BaseModel):
    id: int
    pack: str
    path: str
    size: int
    sha256: str
    status: str = Field(description="ingested or rejected.")
    rows: int
    bad_rows: int
    error: str | None
    first_seen_at: datetime
    updated_at: datetime


class QuarantinedRow(BaseModel):
    id: int
    pack: str
    path: str
    line: int = Field(description="1-based line number in the file (the header is line 1).")
    reason: str
    raw: str


class PageQuery(BaseModel):
    model_config = {"extra": "forbid"}
    pack: str | None = Field(None, max_length=32)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10**12)


class LedgerQuery(PageQuery):
    status: str | None = Field(None, max_length=16)


class RunResult(BaseModel):
    pack: str
    job: str
    counts: dict[str, int | float]


@router.get("/runs/", response_model=list[Run])
def runs(
    db: DbDep,
    pack: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> list[dict[str, Any]]:
    """The last passes of every pack (or one), newest first."""
    return history.last_runs(db, pack, limit)


@router.get("/ledger/", response_model=list[LedgerEntry])
def ledger(
    q: Annotated[LedgerQuery, Query()], db: DbDep, response: Response
) -> list[dict[str, Any]]:
    """Every file ingestion has seen, with its status; total in header X-Total-Count."""
    response.headers["X-Total-Count"] = str(history.ledger_count(db, q.pack, q.status))
    return history.ledger_rows(db, q.pack, q.status, q.limit, q.offset)


@router.get("/quarantine/", response_model=list[QuarantinedRow])
def quarantined(
    q: Annotated[PageQuery, Query()], db: DbDep, response: Response
) -> list[dict[str, Any]]:
    """Rows set aside as invalid, with file, line and reason; total in header X-Total-Count."""
    response.headers["X-Total-Count"] = str(history.quarantine_count(db, q.pack))
    return history.quarantine_rows(db, q.pack, q.limit, q.offset)


class Reingest(BaseModel):
    id: int
    path: str
    detail: str


@router.post("/ledger/{entry_id}/reingest", response_model=Reingest,
             responses=errors.responses(401, 403, 404))
def reingest(
    entry_id: Annotated[int, FastApiPath(ge=1, le=2**63 - 1)], db: DbDep, _auth: TokenDep
) -> dict[str, Any]:
    """Have the next pass read one ledger file again (needs the bearer token).

    The file is named by its ledger id, never by a path from the request, so no request can
    reach outside the data folder.
    """
    path = ledger_io.mark_for_reingest(db, entry_id)
    if path is None:
        raise HTTPException(404, f"no ledger entry {entry_id}")
    db.commit()
    log.info("re-ingest of ledger entry %d requested over HTTP", entry_id)
    return {"id": entry_id, "path": path, "detail": "the next pass reads this file again"}


@router.post("/runs/{pack}", response_model=RunResult,
             responses=errors.responses(401, 403, 404, 409))
def run_now(
    pack: str,
    runtime: RuntimeDep,
    _auth: TokenDep,
    job: Annotated[str | None, Query(max_length=64, description="Default: the pack's first job.")]
    = None,
) -> dict[str, Any]:
    """Run a pack's job once, now (needs `Authorization: Bearer <KPIFLOW_API_TOKEN>`).

    409 while another pass holds the run lock. The pass runs in a worker thread, so the server
    keeps answering; the response comes when it is done.
    """
    try:
        found = runtime.pack(pack)
        chosen = found.job(job)
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    log.info("run now: %s.%s requested over HTTP", pack, chosen.name)
    summary = run_job(runtime, found, chosen)
    return {"pack": pack, "job": chosen.name, "counts": summary.counts()}
