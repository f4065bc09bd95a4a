"""create_app(runtime): the served app, assembled from the core routes (`kpiflow.api`), the
dashboard (`kpiflow.dashboard`), every pack's router, hooks and pages, and the scheduler.

It sits above both `kpiflow.api` and `kpiflow.dashboard` (the dashboard builds on the API's
auth and dependencies), so neither package imports the other's assembly (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kpiflow.api import errors, jobs, runs
from kpiflow.api.auth import read_guard
from kpiflow.dashboard import app as dashboard_app
from kpiflow.registry import ServeContext
from kpiflow.runtime import Runtime


def create_app(runtime: Runtime, *, schedule: bool = False) -> FastAPI:
    """Build the app; with `schedule`, the packs' jobs run in the background while it serves."""
    engine = runtime.db
    contexts = {p.name: ServeContext(runtime.settings, runtime.settings_for(p), engine, {})
                for p in runtime.packs}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.ensure_schema()
        started = []
        scheduler = None
        try:
            for pack in runtime.packs:
                if pack.hooks.startup is not None:
                    pack.hooks.startup(contexts[pack.name])
                started.append(pack)
            if schedule:
                from kpiflow.scheduler import build_scheduler

                scheduler = build_scheduler(runtime)
                scheduler.start()
                app.state.scheduler = scheduler  # `GET /api/v1/jobs/` reads next run times
            yield
        finally:
            if scheduler is not None:
                app.state.scheduler = None
                scheduler.shutdown(wait=True)
            for pack in reversed(started):
                if pack.hooks.shutdown is not None:
                    pack.hooks.shutdown(contexts[pack.name])
            runtime.close()

    app = FastAPI(
        title="kpiflow",
        summary="Exact operational KPIs, served.",
        version="0.1.0",
        lifespan=lifespan,
        responses=errors.responses(503),
    )
    app.state.runtime = runtime
    app.state.engine = engine
    app.state.pack_resources = {name: ctx.resources for name, ctx in contexts.items()}
    app.state.scheduler = None  # the running scheduler, while `schedule` is on
    errors.install(app)

    @app.get("/healthz", tags=["core"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError:
            return JSONResponse({"status": "degraded", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "database": "ok",
                             "packs": [p.name for p in runtime.packs]})

    # Every API router, core's and the packs', goes through the same guard; /healthz, the docs
    # and the dashboard's pages and static files are outside it.
    guard = read_guard(runtime.settings)
    app.include_router(runs.router, **guard)
    app.include_router(jobs.router, **guard)
    for pack in runtime.packs:
        if pack.router is not None:
            app.include_router(pack.router, **guard)
    dashboard_app.install(app, runtime)
    return app
