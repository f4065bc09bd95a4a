"""Network routes: the seed 001 shape (/api/v1/...), the seed 000 shape (/api/KPIs/...), coverage."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from kpiflow.api.deps import DbDep
from kpiflow.packs.network import queries
from kpiflow.packs.network.kpis import CELL_UNIQUE_USERS, KPIS, SERVICE_TRAFFIC_VOLUME, Kpi
from kpiflow.packs.network.schema import INT64_MAX

router = APIRouter(tags=["network"])

MAX_PAGE = 1000
Millis = Annotated[int, Field(ge=0, le=INT64_MAX, description="Unix time in milliseconds")]


class Interval(IntEnum):  # not Literal[5, 60]: query values arrive as strings
    FIVE_MINUTES = 5
    HOUR = 60


class Page(BaseModel):
    model_config = {"extra": "forbid"}
    limit: int = Field(100, ge=1, le=MAX_PAGE, description=f"Rows per page, at most {MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=10**12, description="Rows to skip.")


class KpiQuery(Page):
    interval: Interval | None = Field(None, description="5 or 60 minutes; both when absent.")
    end_timestamp: Millis | None = Field(None, description="Exact interval end, Unix ms.")
    start: Millis | None = Field(None, description="interval_start_timestamp >= start (ms).")
    end: Millis | None = Field(None, description="interval_end_timestamp <= end (ms).")


class ServiceKpi(BaseModel):
    interval_start_timestamp: int
    interval_end_timestamp: int
    interval: int = Field(description="Minutes: 5 or 60.")
    rank: int
    service_id: int
    total_bytes: int


class CellKpi(BaseModel):
    interval_start_timestamp: int
    interval_end_timestamp: int
    interval: int = Field(description="Minutes: 5 or 60.")
    rank: int
    cell_id: int
    number_of_unique_users: int


def _page(kpi: Kpi, q: KpiQuery, db: Any, response: Response) -> list[dict[str, Any]]:
    f = queries.KpiFilter(q.interval, q.end_timestamp, q.start, q.end, q.limit, q.offset)
    response.headers["X-Total-Count"] = str(queries.kpi_count(db, kpi, f))
    return queries.kpi_rows(db, kpi, f)


@router.get("/api/v1/services-kpis/", response_model=list[ServiceKpi])
def services_kpis(
    q: Annotated[KpiQuery, Query()], db: DbDep, response: Response
) -> list[dict[str, Any]]:
    """Top services by traffic per interval, newest first (total in header X-Total-Count)."""
    return _page(SERVICE_TRAFFIC_VOLUME, q, db, response)


@router.get("/api/v1/cell-kpis/", response_model=list[CellKpi])
def cell_kpis(
    q: Annotated[KpiQuery, Query()], db: DbDep, response: Response
) -> list[dict[str, Any]]:
    """Top cells by unique users per interval, newest first (total in header X-Total-Count)."""
    return _page(CELL_UNIQUE_USERS, q, db, response)


class CoverageQuery(Page):
    interval: Interval = Field(Interval.HOUR, description="5 (per interval) or 60 (per hour).")
    start: Millis | None = Field(None, description="Buckets starting at or after (ms).")
    end: Millis | None = Field(None, description="Buckets starting before (ms).")


class Coverage(BaseModel):
    interval_start_timestamp: int
    interval_end_timestamp: int
    interval: int
    files: int = Field(description="Distinct file contents with rows in the bucket.")
    rows: int
    bad_rows: int
    intervals_with_data: int = Field(description="5-minute intervals with valid rows (of 12).")
    complete: bool = Field(description="Every 5-minute interval of the bucket has data.")


@router.get("/api/v1/coverage/", response_model=list[Coverage])
def coverage(q: Annotated[CoverageQuery, Query()], db: DbDep) -> list[dict[str, Any]]:
    """Which intervals and hours have data, from how many files and rows, newest first."""
    return queries.coverage(db, int(q.interval), q.start, q.end, q.limit, q.offset)


# --- seed 000 compatibility: /api/KPIs/ ------------------------------------------------------

SEED_IDS = {1: SERVICE_TRAFFIC_VOLUME, 2: CELL_UNIQUE_USERS}
SEED_INTERVAL = {1: 5, 2: 60}


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


IsoTime = Annotated[datetime | None, BeforeValidator(_blank_is_none), AfterValidator(_aware)]


class SeedQuery(Page):
    interval_start_timestamp__gte: IsoTime = Field(None, description="ISO 8601; UTC if no zone.")
    interval_end_timestamp__lte: IsoTime = Field(None, description="ISO 8601; UTC if no zone.")
    interval: Annotated[int | None, BeforeValidator(_blank_is_none)] = Field(
        None, ge=1, le=2, description="1 = five minutes, 2 = one hour."
    )


class SeedKpi(BaseModel):
    id: int
    name: str


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return max(0, min(INT64_MAX, int(moment.timestamp() * 1000)))


@router.get("/api/KPIs/", response_model=list[SeedKpi], tags=["compatibility"])
def seed_kpi_list() -> list[dict[str, Any]]:
    """The available KPIs (seed 000 shape)."""
    return [{"id": i, "name": kpi.name} for i, kpi in SEED_IDS.items()]


@router.get("/api/KPIs/{kpi_id}/", tags=["compatibility"])
def seed_kpi_rows(
    kpi_id: int, q: Annotated[SeedQuery, Query()], db: DbDep, response: Response
) -> list[dict[str, Any]]:
    """Rows of one KPI with ISO timestamps and interval 1 (5 min) or 2 (1 hour) (seed 000)."""
    kpi = SEED_IDS.get(kpi_id)
    if kpi is None:
        raise HTTPException(404, f"no KPI with id {kpi_id}; ids: {sorted(SEED_IDS)}")
    interval = SEED_INTERVAL[q.interval] if q.interval else None
    f = queries.KpiFilter(
        interval=interval,
        start=_ms(q.interval_start_timestamp__gte),
        end=_ms(q.interval_end_timestamp__lte),
        limit=q.limit,
        offset=q.offset,
    )
    response.headers["X-Total-Count"] = str(queries.kpi_count(db, kpi, f))
    to_seed = {5: 1, 60: 2}
    return [
        {
            "id": row["id"],
            "interval_start_timestamp": _iso(row["interval_start_timestamp"]),
            "interval_end_timestamp": _iso(row["interval_end_timestamp"]),
            "interval": to_seed[row["interval"]],
            kpi.id_column: row[kpi.id_column],
            kpi.value_column: row[kpi.value_column],
        }
        for row in queries.kpi_rows(db, kpi, f)
    ]


__all__ = ["KPIS", "router"]
