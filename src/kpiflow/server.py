"""create_app(runtime): the served app, assembled from the core routes (`kpiflow.api`), the
dashboard (`kpiflow.dashboard`), every pack's router, hooks and pages, and the scheduler.

It sits above both `kpiflow.api` and `kpiflow.dashboard` (the dashboard builds on the API's
auth and dependencies), so neither package imports the other's assembly (docs/architecture.md).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kpiflow.api import docs_assets, errors, hardening, health, jobs, metrics, runs
from kpiflow.api.auth import read_guard
from kpiflow.dashboard import app as dashboard_app
from kpiflow.registry import ServeContext
from kpiflow.runtime import Runtime


def _freeze_startup_objects() -> None:
    """Keep what start-up built (modules, routes, models: ~200,000 objects) out of full GCs.

    Ingest churns enough objects that a full collection ran every ~11 s at 6,000 values/s, and
    walking the start-up objects made each one a 130-180 ms stop of every request (the
    `get-all` p99 under load was these pauses; after the freeze a full collection takes 4-8 ms,
    docs/benchmarks.md). Collect first so that no start-up garbage is kept for ever.
    """
    gc.collect()
    gc.freeze()


def create_app(runtime: Runtime, *, schedule: bool = False) -> FastAPI:
    """Build the app; with `schedule`, the packs' jobs run in the background while it serves."""
    engine = runtime.db
    contexts = {p.name: ServeContext(runtime.settings, runtime.settings_for(p), engine, {},
                                     schedule) for p in runtime.packs}

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
            _freeze_startup_objects()
            yield
        finally:
            gc.unfreeze()  # an app inside a longer-lived process (tests) gives them back
            if scheduler is not None:
                app.state.scheduler = None
                if scheduler.running:  # it may have died: /readyz says so
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
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.schedule = schedule
    app.state.engine = engine
    app.state.pack_resources = {name: ctx.resources for name, ctx in contexts.items()}
    app.state.scheduler = None  # the running scheduler, while `schedule` is on
    errors.install(app)
    hardening.install(app, runtime.settings)

    # Every API router, core's and the packs', and /metrics go through the same guard; the
    # probes (/healthz, /readyz), the docs and the dashboard's pages and static files do not.
    guard = read_guard(runtime.settings)
    app.include_router(health.router)
    app.include_router(metrics.router, **guard)
    metrics.install(app, runtime, [c for p in runtime.packs if p.collectors is not None
                                   for c in p.collectors(contexts[p.name])])
    docs_assets.install(app)
    app.include_router(runs.router, **guard)
    app.include_router(jobs.router, **guard)
    for pack in runtime.packs:
        if pack.router is not None:
            app.include_router(pack.router, **guard)
    dashboard_app.install(app, runtime)
    return app
