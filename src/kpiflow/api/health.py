"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database, scheduler and
every pack's recent passes), outside the read guard so probes need no token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kpiflow.health import SCHEDULER_OFF, SCHEDULER_RUNNING, SCHEDULER_STOPPED, readiness

router = APIRouter(tags=["core"])


def scheduler_state(request: Request) -> str:
    """`running`, `stopped` (it should run but does not) or `off` (serve --no-schedule)."""
    scheduler: Any = getattr(request.app.state, "scheduler", None)
    if not getattr(request.app.state, "schedule", False):
        return SCHEDULER_OFF
    return SCHEDULER_RUNNING if scheduler is not None and scheduler.running else SCHEDULER_STOPPED


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers (it checks nothing else; see /readyz)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; `reasons` says why."}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: database reachable, scheduler alive, each pack's last passes not all failed."""
    result = readiness(request.app.state.runtime, scheduler_state(request))
    return JSONResponse(result.as_dict(), status_code=200 if result.ready else 503)
