"""Logins routes: `/api/v1/logins/uniques` and the seed's `/usage/login/raw` and `/plot`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, BeforeValidator, Field, model_validator

from kpiflow.api.deps import DbDep, RuntimeDep
from kpiflow.packs.logins import queries
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import FIRST_DAY, LAST_DAY, MAX_RANGE_DAYS, Grain
from kpiflow.packs.logins.pipeline import PACK, today
from kpiflow.packs.logins.plot import plot_item
from kpiflow.runtime import Runtime

router = APIRouter(tags=["logins"])
DEFAULT_DAYS = 90  # the seed's default range


def _day(value: Any) -> Any:
    """A date, or the date part of a date-time (the seed's page sent date-times)."""
    if isinstance(value, str) and len(value) > 10:
        try:
            return datetime.fromisoformat(value).date()
        except ValueError:
            return value  # pydantic names the parameter and the problem
    return value


def _grain(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


# Days a period label and its neighbours can be computed for, and the longest range asked in
# one request (a daily answer over it stays small).


class UniquesQuery(BaseModel):
    model_config = {"extra": "forbid"}
    aggregate: Annotated[Grain, BeforeValidator(_grain)] = Field(
        Grain.W, description="D, W, M, Q or Y (any case).")
    start: Annotated[date | None, BeforeValidator(_day)] = Field(
        None, ge=FIRST_DAY, le=LAST_DAY,
        description=f"First day (default: {DEFAULT_DAYS} days before end).")
    end: Annotated[date | None, BeforeValidator(_day)] = Field(
        None, ge=FIRST_DAY, le=LAST_DAY,
        description="Last day, included (default: today in the configured zone).")

    @model_validator(mode="after")
    def _ordered(self) -> UniquesQuery:
        if self.start is not None and self.end is not None:
            if self.start > self.end:
                raise ValueError(f"start {self.start} is after end {self.end}")
            if (self.end - self.start).days > MAX_RANGE_DAYS:
                raise ValueError(f"a range is at most {MAX_RANGE_DAYS} days")
        return self


class PeriodOut(BaseModel):
    period: date = Field(description="The period's last day (pandas Grouper label).")
    unique_users: int
    days_covered: int = Field(description="Extracted days of the period within the range.")
    days_in_period: int
    complete: bool = Field(description="Every day of the period is extracted.")


class UniquesOut(BaseModel):
    aggregate: Grain
    start: date
    end: date
    timezone: str
    week_ends: str = Field(description="pandas week convention, e.g. W-SUN.")
    checkpoint: date | None = Field(description="Last extracted day.")
    periods: list[PeriodOut]


def settings_of(rt: Runtime) -> LoginsSettings:
    """The logins settings the server runs with."""
    return rt.settings_of(PACK, LoginsSettings)


def answer(rt: Runtime, db: Any, q: UniquesQuery) -> queries.Uniques:
    """The query with its defaults filled in, answered."""
    settings = settings_of(rt)
    end = q.end or today(settings)
    start = q.start or min(end, end - timedelta(days=DEFAULT_DAYS))
    if start > end:
        start = end  # only `start` given, after today: an empty-range answer is not an error
    return queries.uniques(db, settings, q.aggregate, start, end)


@router.get("/api/v1/logins/uniques", response_model=UniquesOut)
def uniques(q: Annotated[UniquesQuery, Query()], db: DbDep, rt: RuntimeDep) -> dict[str, Any]:
    """Distinct users per period (never a sum), every period of the range, with completeness."""
    return answer(rt, db, q).to_json()


@router.get("/usage/login/raw", response_model=None)
def usage_raw(q: Annotated[UniquesQuery, Query()], db: DbDep, rt: RuntimeDep,
              request: Request) -> dict[str, Any] | PlainTextResponse:
    """The seed's raw data: JSON `{"data": [{timestamp, user, ...}]}`, or CSV by Accept."""
    result = answer(rt, db, q)
    if "text/csv" in request.headers.get("accept", ""):
        return PlainTextResponse(result.to_csv(), media_type="text/csv")
    body = result.to_json()
    body["data"] = [{"timestamp": p["period"], "user": p["unique_users"], **p}
                    for p in body.pop("periods")]
    return body


@router.get("/usage/login/plot")
def usage_plot(q: Annotated[UniquesQuery, Query()], db: DbDep, rt: RuntimeDep) -> dict[str, Any]:
    """The seed's plot: `{"data": <Bokeh json_item>}` for element `logins-plot`."""
    return {"data": plot_item(answer(rt, db, q))}
