"""Hosts routes: the agent's push, the seed's routes (`/ressources-usage/...`), modern reads."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from kpiflow.api import errors
from kpiflow.api.auth import TokenDep, token_matches
from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.ingest import quarantine
from kpiflow.packs.hosts import queries, schema
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.packs.hosts.ingest import store_batch
from kpiflow.packs.hosts.tables import RESOURCES
from kpiflow.runtime import Runtime

log = logging.getLogger(__name__)


def _record_refusal(request: Request, errs: list[Any], body: bytes) -> None:
    """Quarantine a batch refused by validation: where it came from and why, sample by sample."""
    rt: Runtime = request.app.state.runtime
    client = request.client.host if request.client else "?"
    key = schema.key_of(body)
    source = (f"batch {key} " if key else "batch ") + \
        f"refused at {request.method} {request.url.path} from {client}"
    try:
        with rt.db.begin() as conn:
            quarantine.add(conn, "hosts", source, schema.refused_rows(errs, body))
    except SQLAlchemyError as exc:  # the sender still learns why: the 422 goes out
        log.warning("could not quarantine a refused batch (%s): %s", source, exc)


class RefusalRoute(APIRoute):
    """A route whose refused pushes are recorded: a batch that fails validation (422) is put
    in the quarantine before the answer goes out, when the sender had the write token (so that
    an anonymous client cannot fill the quarantine)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not (self.methods or set()) & {"POST", "PUT"}:
            return handler

        async def recording(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                rt: Runtime = request.app.state.runtime
                scheme, _, given = request.headers.get("authorization", "").partition(" ")
                if scheme.lower() == "bearer" and token_matches(rt.settings, given):
                    await run_in_threadpool(_record_refusal, request, list(exc.errors()),
                                            await request.body())
                raise

        return recording


router = APIRouter(tags=["hosts"], route_class=RefusalRoute)
WRITE: dict[int | str, dict[str, Any]] = {
    **errors.responses(401, 403), 413: {"description": "Batch larger than KPIFLOW_HOSTS_MAX_BATCH"}}
# Unix seconds up to the end of year 9999: every instant converts to ms and to a datetime.
LAST_SECOND = 253_402_300_799.0

Window = Annotated[float | None, Query(
    gt=0, le=LAST_SECOND, allow_inf_nan=False,
    description="Seconds back from now (server time); default `KPIFLOW_HOSTS_MEAN_WINDOW_SECONDS`.")]


class Stored(BaseModel):
    stored: bool = Field(description="False when a batch with this key was already stored.")
    samples: int


def _settings(rt: Runtime) -> HostsSettings:
    return rt.settings_of("hosts", HostsSettings)


def _accept(rt: Runtime, batch: schema.Batch) -> bool:
    """Refuse a batch whole (422, its rows quarantined) or store it durably before answering."""
    ps = _settings(rt)
    if len(batch.rows) > ps.hosts_max_batch:
        with rt.db.begin() as conn:
            quarantine.add(conn, "hosts", f"batch {batch.key} from {batch.host_id}", [
                quarantine.BadRow(0, f"{len(batch.rows)} values, over KPIFLOW_HOSTS_MAX_BATCH "
                                     f"({ps.hosts_max_batch}): refused whole", "")])
        raise HTTPException(413, f"a batch may carry at most {ps.hosts_max_batch} values "
                                 "(KPIFLOW_HOSTS_MAX_BATCH); send smaller batches")
    now = time.time()
    try:
        schema.check_clock(batch, now)
    except schema.BadBatch as exc:
        with rt.db.begin() as conn:
            quarantine.add(conn, "hosts", f"batch {batch.key} from {batch.host_id}", exc.bad)
        raise HTTPException(422, str(exc)) from None
    return store_batch(rt.db, batch, round(now * 1000))


@router.post("/api/v1/hosts/samples", response_model=Stored, responses=WRITE)
def post_samples(body: schema.AgentBatch, rt: RuntimeDep, _: TokenDep) -> dict[str, Any]:
    """Store one agent batch (committed before the answer); a resent key is stored once."""
    batch = schema.from_agent(body)
    return {"stored": _accept(rt, batch), "samples": len(batch.rows)}


@router.put("/ressources-usage/save-all", responses=WRITE)
async def seed_save_all(
    body: schema.SeedBatch, request: Request, rt: RuntimeDep, _: TokenDep,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> dict[str, str]:
    """The seed collector's push: `{"ipaddress", "data": [...]}` -> `{"Response": "Ok"}`."""
    batch = schema.from_seed(body, idempotency_key, await request.body())
    await run_in_threadpool(_accept, rt, batch)
    return {"Response": "Ok"}


def _since_ms(rt: Runtime, window: float | None) -> int:
    ps = _settings(rt)
    seconds = window if window is not None else ps.hosts_mean_window_seconds
    if seconds > ps.hosts_hot_seconds:
        raise HTTPException(422, [{"loc": ["query", "window"], "type": "value_error",
                                   "msg": f"window is at most {ps.hosts_hot_seconds} s "
                                          "(KPIFLOW_HOSTS_HOT_SECONDS); use /api/v1/hosts/history "
                                          "for longer ranges"}])
    return round((time.time() - seconds) * 1000)


@router.get("/ressources-usage/get-all")
def seed_get_all(rt: RuntimeDep, db: DbDep, window: Window = None
                 ) -> dict[str, list[float | None]]:
    """Per process name: [memory mean, cpu mean] of its samples in the window (default 5 min)."""
    return queries.means_by_name(db, _since_ms(rt, window))


@router.get("/ressources-usage/get-all/{ip}")
def seed_get_all_for_ip(
    ip: Annotated[str, Path(max_length=64, description="The host's IP, dots as hyphens")],
    rt: RuntimeDep, db: DbDep, window: Window = None,
) -> dict[str, list[float | None]]:
    """The same means for the host(s) with that IP (`10-0-0-7`)."""
    try:
        address = schema.parse_hyphen_ip(ip)
    except ValueError:
        raise HTTPException(422, [{"loc": ["path", "ip"], "type": "value_error",
                                   "msg": f"not an IP address: {ip!r} (write 10-0-0-7)"}]) from None
    return queries.means_by_name(db, _since_ms(rt, window), queries.host_ids_for_ip(db, address))


@router.get("/ressources-usage/get-all-detailed")
def seed_get_all_detailed(rt: RuntimeDep, db: DbDep, window: Window = None
                          ) -> dict[str, list[float]]:
    """Per process name: its memory samples in the window, oldest first."""
    return queries.mem_values_by_name(db, _since_ms(rt, window))


@router.get("/ressources-usage/query-alarm/")
def seed_query_alarm(db: DbDep) -> dict[str, str]:
    """Per process name in alarm now: "RED" or "AMBER" (absent when none)."""
    return queries.alarm_colors(db)


@router.get("/api/v1/hosts/hosts")
def list_hosts(rt: RuntimeDep, db: DbDep) -> list[dict[str, Any]]:
    """Every host: name, IP, cores, first and last seen, samples per second lately."""
    ps = _settings(rt)
    return queries.list_hosts(db, round(time.time() * 1000),
                              round(ps.hosts_mean_window_seconds * 1000))


@router.get("/api/v1/hosts/hosts/{host_id}/processes", responses=errors.responses(404))
def host_processes(host_id: Annotated[str, Path(max_length=64)], rt: RuntimeDep, db: DbDep,
                   window: Window = None) -> list[dict[str, Any]]:
    """A host's processes (pid, create time, name) with cpu and mem means over the window."""
    if not queries.host_exists(db, host_id):
        raise HTTPException(404, f"no host {host_id!r}")
    return queries.process_means(db, _since_ms(rt, window), host_id)


@router.get("/api/v1/hosts/means")
def means(rt: RuntimeDep, db: DbDep, window: Window = None,
          host_id: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    """Per process identity: cpu and mem means over the window, samples, last seen."""
    return queries.process_means(db, _since_ms(rt, window), host_id)


@router.get("/api/v1/hosts/top")
def top(rt: RuntimeDep, db: DbDep, by: Literal["cpu", "mem"] = "cpu",
        n: Annotated[int, Query(ge=1, le=1000)] = 10, window: Window = None,
        host_id: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
    """The n processes with the highest mean cpu (or mem) over the window."""
    return queries.top(queries.process_means(db, _since_ms(rt, window), host_id), by, n)


@router.get("/api/v1/hosts/history")
def history(
    rt: RuntimeDep, db: DbDep,
    host_id: Annotated[str, Query(max_length=64)],
    name: Annotated[str, Query(max_length=255)],
    resource: Literal["cpu", "mem"] = "cpu",
    pid: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    started: Annotated[float, Query(ge=0, le=LAST_SECOND, allow_inf_nan=False)] = 0.0,
    start: Annotated[float | None, Query(gt=0, le=LAST_SECOND, allow_inf_nan=False,
                                         description="Unix seconds; default end - 1 h")] = None,
    end: Annotated[float | None, Query(gt=0, le=LAST_SECOND, allow_inf_nan=False,
                                       description="Unix seconds; default now")] = None,
) -> dict[str, Any]:
    """A process's samples (up to 2 h) or 1-minute means, with the threshold and trend line."""
    end_s = end if end is not None else time.time()
    start_s = start if start is not None else end_s - 3600
    if start_s >= end_s:
        raise HTTPException(422, [{"loc": ["query", "start"], "type": "value_error",
                                   "msg": "start must be before end"}])
    series = queries.Series(host_id, pid, round(started * 1000), name, RESOURCES[resource])
    ps = _settings(rt)
    return queries.history(db, rt.settings.resolved_state_dir / "hosts", series,
                           (round(start_s * 1000), round(end_s * 1000)), ps.hosts_red_threshold)


@router.get("/api/v1/hosts/alarms")
def current_alarms(db: DbDep) -> list[dict[str, Any]]:
    """Every process resource in alarm now (RED first) with its evidence."""
    return queries.current_alarms(db)


@router.get("/api/v1/hosts/alarms/changes")
def alarm_changes(db: DbDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
                  since: Annotated[float | None, Query(gt=0, le=LAST_SECOND, allow_inf_nan=False,
                                             description="Unix seconds")] = None
                  ) -> list[dict[str, Any]]:
    """Recorded alarm state changes, newest first, with their evidence."""
    return queries.alarm_changes(db, limit, None if since is None else round(since * 1000))
