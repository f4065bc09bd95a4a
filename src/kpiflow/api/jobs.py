"""Core route listing every job of every pack: its schedule, next run and last result."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.scheduler import job_statuses

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class LastRun(BaseModel):
    id: int
    status: str = Field(description="running, ok, failed or interrupted.")
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    error: str | None
    counts: dict[str, int | float] = Field(description="The pack's own counts for that pass.")


class JobStatus(BaseModel):
    pack: str
    job: str
    description: str
    every_seconds: float | None = Field(
        description="Seconds between runs for an interval job; null for a cron or on-demand job.")
    cron: str | None = Field(description="Crontab expression of a cron job, else null.")
    timezone: str | None = Field(description="Time zone of the cron expression, else null.")
    next_run_time: datetime | None = Field(
        description="When this server's scheduler runs it next; null when the server does not "
        "schedule jobs (`kpiflow serve --no-schedule`) or the job runs only on demand.")
    last_run: LastRun | None = Field(description="The job's newest run; null if it never ran.")


@router.get("/jobs/", response_model=list[JobStatus])
def jobs(request: Request, runtime: RuntimeDep, db: DbDep) -> list[dict[str, Any]]:
    """Every job of every pack with its trigger, next run time and last result."""
    return [asdict(j) for j in job_statuses(runtime, db, request.app.state.scheduler)]
