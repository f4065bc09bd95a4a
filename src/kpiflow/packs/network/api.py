"""Network routes: the seed 001 shape (/api/v1/...), the seed 000 shape (/api/KPIs/...), coverage."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from kpiflow.api import errors
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


@router.get("/api/KPIs/{kpi_id}/", tags=["compatibility"], responses=errors.responses(404))
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


# --- dashboard data: only what the network page shows ----------------------------------------

MAX_SERIES_POINTS = 5000


class RangeQuery(BaseModel):
    model_config = {"extra": "forbid"}
    interval: Interval = Field(Interval.FIVE_MINUTES, description="5 or 60 minutes.")
    start: Millis | None = Field(None, description="Intervals starting at or after (ms).")
    end: Millis | None = Field(None, description="Intervals starting before (ms).")

    @model_validator(mode="after")
    def _ordered(self) -> RangeQuery:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Extent(BaseModel):
    interval: int
    first: int | None = Field(description="Start of the first interval with data (ms).")
    last: int | None = Field(description="Start of the last interval with data (ms).")
    intervals: int = Field(description="Intervals with data in the range.")


@router.get("/api/v1/network/extent/", response_model=Extent, tags=["dashboard"])
def extent(q: Annotated[RangeQuery, Query()], db: DbDep) -> dict[str, Any]:
    """The first and last interval with KPIs in the range, and how many there are."""
    first, last, count = queries.interval_extent(
        db, SERVICE_TRAFFIC_VOLUME, int(q.interval), q.start, q.end)
    return {"interval": int(q.interval), "first": first, "last": last, "intervals": count}


class TopQuery(RangeQuery):
    at: Millis | None = Field(None, description="A time in the wanted interval; default: the "
                              "last interval of the range.")
    step: int = Field(0, ge=-1, le=1, description="0: the interval holding `at` (else the "
                      "nearest earlier one, else the first); -1 / 1: the one before / after it.")


class TopRow(BaseModel):
    rank: int
    id: int
    value: int


class Top(BaseModel):
    interval: int
    interval_start_timestamp: int | None = Field(description="null: no data in the range.")
    interval_end_timestamp: int | None
    previous: int | None = Field(description="Start of the interval before, in the range.")
    next: int | None = Field(description="Start of the interval after, in the range.")
    services: list[TopRow] = Field(description="Top services by total bytes.")
    cells: list[TopRow] = Field(description="Top cells by unique users.")


@router.get("/api/v1/network/top/", response_model=Top, tags=["dashboard"])
def top(q: Annotated[TopQuery, Query()], db: DbDep) -> dict[str, Any]:
    """The top services and cells of one interval, with its neighbours for stepping."""
    interval = int(q.interval)
    kpi = SERVICE_TRAFFIC_VOLUME
    at = q.at if q.at is not None else (q.end - 1 if q.end is not None else INT64_MAX)
    found = queries.neighbour_interval(db, kpi, interval, at, 0, q.start, q.end)
    if found is not None and q.step:
        found = queries.neighbour_interval(db, kpi, interval, found, q.step, q.start, q.end)
    out: dict[str, Any] = {"interval": interval, "interval_start_timestamp": found,
                           "interval_end_timestamp": None, "previous": None, "next": None,
                           "services": [], "cells": []}
    if found is None:
        return out
    length = interval * 60_000
    out["interval_end_timestamp"] = found + length
    out["previous"] = queries.neighbour_interval(db, kpi, interval, found, -1, q.start, q.end)
    out["next"] = queries.neighbour_interval(db, kpi, interval, found, 1, q.start, q.end)
    for key, k in (("services", SERVICE_TRAFFIC_VOLUME), ("cells", CELL_UNIQUE_USERS)):
        f = queries.KpiFilter(interval=interval, end_timestamp=found + length, limit=MAX_PAGE)
        out[key] = [{"rank": r["rank"], "id": r[k.id_column], "value": r[k.value_column]}
                    for r in queries.kpi_rows(db, k, f)]
    return out


class SeriesKpi(StrEnum):
    SERVICES = "services"
    CELLS = "cells"


class SeriesQuery(BaseModel):
    model_config = {"extra": "forbid"}
    kpi: SeriesKpi = Field(description="services (bytes) or cells (unique users).")
    id: int = Field(ge=0, le=INT64_MAX, description="The service_id or cell_id.")
    interval: Interval = Field(Interval.FIVE_MINUTES, description="5 or 60 minutes.")
    start: Millis = Field(description="Range start (ms).")
    end: Millis = Field(description="Range end (ms), after start.")
    max_points: int = Field(800, ge=10, le=MAX_SERIES_POINTS,
                            description="Longer ranges are rolled up into wider buckets.")

    @model_validator(mode="after")
    def _ordered(self) -> SeriesQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Series(BaseModel):
    kpi: str
    id: int
    interval: int
    bucket_ms: int = Field(description="Width of one point (ms): the interval, or wider.")
    intervals_per_bucket: int
    t: list[int] = Field(description="Bucket starts (ms), every bucket of the range.")
    mean: list[float | None] = Field(description="Mean value of the intervals where the id is "
                                     "in the top N; null where it is in none.")
    min: list[int | None]
    max: list[int | None]
    n: list[int] = Field(description="Intervals of the bucket where the id is in the top N.")


@router.get("/api/v1/network/series/", response_model=Series, tags=["dashboard"])
def series(q: Annotated[SeriesQuery, Query()], db: DbDep) -> dict[str, Any]:
    """One service's bytes or one cell's users per interval across a range, downsampled."""
    kpi = SERVICE_TRAFFIC_VOLUME if q.kpi is SeriesKpi.SERVICES else CELL_UNIQUE_USERS
    data = queries.id_series(db, kpi, int(q.interval), q.id, q.start, q.end, q.max_points)
    return {"kpi": q.kpi.value, "id": q.id, "interval": int(q.interval), **data}
