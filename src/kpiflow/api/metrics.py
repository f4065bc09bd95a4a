"""`/metrics` in the Prometheus exposition format: passes, files, scheduler and HTTP.

Pass outcomes, durations, files and rows are read from the database (run log and ledger) at
scrape time, not counted in memory: every pass then shows, whether the scheduler of this server,
a `kpiflow <pack> run` from cron or another replica ran it, and a restart loses nothing. HTTP
requests are counted in this process by a middleware, labelled by route template (never the raw
path, so the label set stays small). Each app has its own registry; packs add collectors.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Connection, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kpiflow.ingest import runlog
from kpiflow.runtime import Runtime
from kpiflow.store.tables import ledger, runs

PASS_BUCKETS = (0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

router = APIRouter(tags=["core"])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Prometheus metrics (names `kpiflow_*`, label `pack`); needs the token when reads do."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class PassCollector(Collector):
    """Passes by outcome, pass durations, last success, files and rows: from the database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """Read the run log and the ledger; `kpiflow_database_up` 0 when that fails."""
        up = GaugeMetricFamily("kpiflow_database_up", "1 when the database answered this scrape.")
        try:
            with self.runtime.db.connect() as conn:
                families = list(self._families(conn))
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, conn: Connection) -> Iterator[Metric]:
        passes = CounterMetricFamily("kpiflow_passes", "Finished passes by outcome.",
                                     labels=["pack", "job", "outcome"])
        finished = runs.c.status != runlog.RUNNING
        for pack, job, status, n in conn.execute(
                select(runs.c.pack, runs.c.job, runs.c.status, func.count())
                .where(finished).group_by(runs.c.pack, runs.c.job, runs.c.status)):
            passes.add_metric([pack, job or "", status], n)
        yield passes

        duration = HistogramMetricFamily("kpiflow_pass_duration_seconds",
                                         "How long finished passes took.", labels=["pack", "job"])
        le = [func.sum(case((runs.c.seconds <= b, 1), else_=0)) for b in PASS_BUCKETS]
        for pack, job, total, n, *under in conn.execute(
                select(runs.c.pack, runs.c.job, func.sum(runs.c.seconds), func.count(), *le)
                .where(finished, runs.c.seconds.is_not(None)).group_by(runs.c.pack, runs.c.job)):
            buckets = [(str(float(b)), int(c or 0)) for b, c in zip(PASS_BUCKETS, under, strict=True)]
            duration.add_metric([pack, job or ""], [*buckets, ("+Inf", int(n))], float(total or 0))
        yield duration

        last_ok = GaugeMetricFamily("kpiflow_last_success_timestamp_seconds",
                                    "When the last successful pass finished (Unix time).",
                                    labels=["pack", "job"])
        for pack, job, when in conn.execute(
                select(runs.c.pack, runs.c.job, func.max(runs.c.finished_at))
                .where(runs.c.status == runlog.OK).group_by(runs.c.pack, runs.c.job)):
            if when is not None:
                last_ok.add_metric([pack, job or ""], _epoch(when))
        yield last_ok
        yield self._last_outcome(conn)
        yield from self._ledger(conn)

    def _last_outcome(self, conn: Connection) -> Metric:
        gauge = GaugeMetricFamily("kpiflow_last_pass_success",
                                  "1 when the newest finished pass of the job succeeded, else 0.",
                                  labels=["pack", "job"])
        newest = (select(runs.c.pack, runs.c.job, func.max(runs.c.id).label("id"))
                  .where(runs.c.status != runlog.RUNNING)
                  .group_by(runs.c.pack, runs.c.job).subquery())
        for pack, job, status in conn.execute(
                select(runs.c.pack, runs.c.job, runs.c.status).join(newest, runs.c.id == newest.c.id)):
            gauge.add_metric([pack, job or ""], 1 if status == runlog.OK else 0)
        return gauge

    def _ledger(self, conn: Connection) -> Iterator[Metric]:
        files = GaugeMetricFamily("kpiflow_ledger_files", "Files in the ledger by status.",
                                  labels=["pack", "status"])
        rows = GaugeMetricFamily("kpiflow_ledger_rows", "Valid rows of the files in the ledger.",
                                 labels=["pack"])
        bad = GaugeMetricFamily("kpiflow_ledger_bad_rows",
                                "Quarantined rows of the files in the ledger.", labels=["pack"])
        per_pack: dict[str, list[int]] = {}
        for pack, status, n, good, wrong in conn.execute(
                select(ledger.c.pack, ledger.c.status, func.count(), func.sum(ledger.c.rows),
                       func.sum(ledger.c.bad_rows)).group_by(ledger.c.pack, ledger.c.status)):
            files.add_metric([pack, status], n)
            totals = per_pack.setdefault(pack, [0, 0])
            totals[0] += int(good or 0)
            totals[1] += int(wrong or 0)
        for pack, (good, wrong) in per_pack.items():
            rows.add_metric([pack], good)
            bad.add_metric([pack], wrong)
        yield from (files, rows, bad)


class SchedulerCollector(Collector):
    """How late each scheduled job is: now minus its due time, 0 when it is not yet due."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """One gauge per scheduled job, plus whether the scheduler runs."""
        scheduler: Any = getattr(self.app.state, "scheduler", None)
        running = GaugeMetricFamily("kpiflow_scheduler_running", "1 while the scheduler runs.")
        running.add_metric([], 1 if scheduler is not None and scheduler.running else 0)
        yield running
        lag = GaugeMetricFamily("kpiflow_scheduler_job_lag_seconds",
                                "Seconds a job is overdue (its run started late or runs long).",
                                labels=["pack", "job"])
        if scheduler is not None and scheduler.running:
            now = datetime.now(UTC)
            for job in scheduler.get_jobs():
                pack, _, name = job.id.partition(".")
                due = job.next_run_time
                lag.add_metric([pack, name], max(0.0, (now - due).total_seconds()) if due else 0.0)
        yield lag


class HttpMetrics:
    """ASGI middleware: requests by route template, method and status, and their latency."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; the router leaves the matched route in the scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.requests.labels(route, method, str(status)).inc()
            self.latency.labels(route, method).observe(time.perf_counter() - started)


def install(app: FastAPI, runtime: Runtime, pack_collectors: Iterable[Collector]) -> None:
    """Give the app its own registry with core's and the packs' collectors, and the middleware."""
    registry = CollectorRegistry()
    registry.register(PassCollector(runtime))
    registry.register(SchedulerCollector(app))
    for collector in pack_collectors:
        registry.register(collector)
    app.state.metrics_registry = registry
    requests = Counter("kpiflow_http_requests", "HTTP requests answered.",
                       ["route", "method", "status"], registry=registry)
    latency = Histogram("kpiflow_http_request_duration_seconds", "Time to answer an HTTP request.",
                        ["route", "method"], registry=registry, buckets=HTTP_BUCKETS)
    app.add_middleware(HttpMetrics, requests=requests, latency=latency)
