"""Stores routes in the seed's shape: POST /trigger_report, GET /get_report; the combined report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from kpiflow.api import errors
from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.errors import ConfigError
from kpiflow.packs.stores import explain, jobs, queries, retention, schema
from kpiflow.packs.stores.config import StoresSettings

router = APIRouter(tags=["stores"])


class TriggerQuery(BaseModel):
    model_config = {"extra": "forbid"}
    now: str | None = Field(None, description="End of the windows, ISO 8601; default latest poll.")
    detail: bool = Field(False, description="Add business (and unknown) time per window.")
    max_hold: str | None = Field(None, description="A poll vouches for at most this long (90m).")


class Triggered(BaseModel):
    report_id: str


class ReportStatus(BaseModel):
    status: str = Field(description="Running or Failed (a Complete report is the CSV itself).")
    stores_done: int = 0
    stores_total: int = 0
    error: str | None = None


def worker(request: Request) -> jobs.ReportWorker:
    """The app's report worker, started by the pack's `serve` startup hook."""
    found = request.app.state.pack_resources["stores"].get("worker")
    if not isinstance(found, jobs.ReportWorker):
        raise HTTPException(503, "the report worker is not running (the app is shutting down)")
    return found


def _parsed(name: str, parse: Callable[[str], int], text: str) -> int:
    """`parse(text)`, or a 422 naming the parameter."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


@router.post("/trigger_report", response_model=Triggered, responses={
    429: {"model": errors.ErrorBody,
          "description": "More reports requested in the last minute than the rate allows."}})
def trigger_report(
    q: Annotated[TriggerQuery, Query()], request: Request, rt: RuntimeDep
) -> dict[str, str]:
    """Start a report in the background; returns its id at once."""
    now_us = None if q.now is None else _parsed("now", schema.parse_instant_us, q.now)
    hold = (None if q.max_hold is None
            else _parsed("max_hold", schema.parse_duration, q.max_hold) * 1_000_000)
    options = jobs.ReportOptions(now_us, q.detail or hold is not None, hold)
    engine, ss = request.app.state.engine, rt.settings_of("stores", StoresSettings)
    try:
        retention.admit(engine, ss)
    except retention.TooManyReports as exc:
        raise HTTPException(429, str(exc)) from None
    retention.prune(engine, rt.settings, ss)
    report_id = jobs.create_run(engine, options)
    worker(request).submit(report_id)
    return {"report_id": report_id}


@router.get("/get_report", response_model=ReportStatus,
            responses={200: {"content": {"text/csv": {}}}, **errors.responses(404)})
def get_report(
    report_id: Annotated[str, Query(max_length=64)], request: Request, rt: RuntimeDep, db: DbDep
) -> Any:
    """`{"status": "Running"}` while it runs; when Complete, the CSV (text/csv)."""
    row = queries.report_row(db, report_id)
    if row is None:
        raise HTTPException(404, f"no report with id {report_id!r}")
    if row["status"] == jobs.RUNNING:
        worker(request).recover(request.app.state.engine, report_id)
        return {"status": jobs.RUNNING, "stores_done": row["stores_done"],
                "stores_total": row["stores_total"]}
    if row["status"] == jobs.FAILED:
        return JSONResponse({"status": jobs.FAILED, "error": row["error"]})
    path = jobs.report_path(rt.settings, report_id)
    if not path.is_file():
        return JSONResponse({"status": jobs.FAILED, "error": "report file is missing from the "
                             "state directory"})
    return Response(path.read_bytes(), media_type="text/csv",
                    headers={"X-Report-Status": jobs.COMPLETE,
                             "Content-Disposition": f'attachment; filename="report-{report_id}.csv"'})


@router.get("/combined_report",
            responses={200: {"content": {"text/csv": {}}}, **errors.responses(404)})
def combined_report(rt: RuntimeDep) -> Any:
    """The report the scheduler precomputes every hour (404 until the first one is written)."""
    path = jobs.combined_path(rt.settings, rt.settings_of("stores", StoresSettings))
    if not path.is_file():
        raise HTTPException(404, "no combined report yet; it is computed hourly by `kpiflow serve`")
    return FileResponse(path, media_type="text/csv", filename="combined_report.csv")


@router.get("/api/v1/stores/{store_id}/week", responses=errors.responses(404))
def store_week(
    store_id: Annotated[str, Path(max_length=64)], request: Request, rt: RuntimeDep,
    now: Annotated[str | None, Query(description="End of the week, ISO 8601; default latest poll.")]
    = None,
) -> dict[str, Any]:
    """One store's last week as local-day lanes: business hours, up and down parts, polls."""
    now_us = None if now is None else _parsed("now", schema.parse_instant_us, now)
    try:
        ss = rt.settings_of("stores", StoresSettings)
        ex = explain.explain(request.app.state.engine, ss, store_id, now_us)
    except explain.UnknownStore as exc:
        raise HTTPException(404, str(exc)) from None
    return explain.week_timeline(ex)
