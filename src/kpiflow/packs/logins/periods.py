"""Calendar periods labelled like pandas' `Grouper(freq=...)` defaults: by their last day.

D is the day itself; W ends on the configured weekday (pandas `W` = `W-SUN`); M, Q and Y end
on the last day of the month, quarter and year. Pure date arithmetic, no pandas at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# The days a query may name, and its longest range (bounded so no request runs for minutes).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
MAX_RANGE_DAYS = 366 * 20

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
ONE_DAY = timedelta(days=1)


class Grain(StrEnum):
    """An aggregate: day, week, month, quarter, year (the seed's `aggregate` letters)."""

    D = "D"
    W = "W"
    M = "M"
    Q = "Q"
    Y = "Y"


NAMES = {Grain.D: "day", Grain.W: "week", Grain.M: "month", Grain.Q: "quarter", Grain.Y: "year"}


@dataclass(frozen=True)
class Period:
    """One period: its first and last day (the last day is its label)."""

    first: date
    last: date

    @property
    def days(self) -> int:
        """Calendar days in the period."""
        return (self.last - self.first).days + 1


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - ONE_DAY


def period_of(day: date, grain: Grain, week_end: str = "SUN") -> Period:
    """The period of `grain` that contains `day`."""
    if grain is Grain.D:
        return Period(day, day)
    if grain is Grain.W:
        last = day + timedelta(days=(WEEKDAYS.index(week_end) - day.weekday()) % 7)
        return Period(last - timedelta(days=6), last)
    if grain is Grain.M:
        return Period(day.replace(day=1), _month_end(day.year, day.month))
    if grain is Grain.Q:
        first_month = 3 * ((day.month - 1) // 3) + 1
        return Period(date(day.year, first_month, 1), _month_end(day.year, first_month + 2))
    return Period(date(day.year, 1, 1), date(day.year, 12, 31))


def periods(start: date, end: date, grain: Grain, week_end: str = "SUN") -> Iterator[Period]:
    """Every period of `grain` that overlaps [start, end], in order."""
    day = start
    while day <= end:
        period = period_of(day, grain, week_end)
        yield period
        day = period.last + ONE_DAY


def axis_label(grain: Grain, week_end: str = "SUN") -> str:
    """How a plot's time axis names the grain (a week says on which day it ends)."""
    if grain is Grain.W:
        return f"week (ending {week_end.title()})"
    return NAMES[grain]
