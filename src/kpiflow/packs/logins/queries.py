"""Reads for the CLI, the API and the page: distinct users per period from the stored days."""

from __future__ import annotations

import csv
import io
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Select, func, select

from kpiflow.packs.logins import daysets
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import Grain, periods
from kpiflow.packs.logins.tables import days, users
from kpiflow.store.tables import checkpoints

CSV_COLUMNS = ("period", "unique_users", "days_covered", "days_in_period")


@dataclass(frozen=True)
class PeriodCount:
    """Distinct users of one period (its days within the range) and how complete it is."""

    period: date
    unique_users: int
    days_covered: int  # extracted days of the period within the range
    days_in_period: int
    complete: bool  # the whole period was extracted (the checkpoint has passed its end)


@dataclass(frozen=True)
class Uniques:
    """An answer: the periods and the conventions they follow."""

    aggregate: Grain
    start: date
    end: date
    timezone: str
    week_ends: str
    checkpoint: date | None
    periods: list[PeriodCount]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO text."""
        body = asdict(self)
        body["periods"] = [{**asdict(p), "period": p.period.isoformat()} for p in self.periods]
        for key in ("start", "end", "checkpoint"):
            body[key] = body[key].isoformat() if body[key] else None
        return body

    def to_csv(self) -> str:
        """`period,unique_users,days_covered,days_in_period`, one line per period."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for p in self.periods:
            writer.writerow([p.period.isoformat(), p.unique_users, p.days_covered,
                             p.days_in_period])
        return text.getvalue()


def stored_checkpoint(conn: Connection) -> date | None:
    """The last extracted day (the extraction job's checkpoint)."""
    c = checkpoints.c
    value = conn.execute(select(c.value).where(c.pack == "logins", c.name == "day")).scalar()
    return None if value is None else date.fromisoformat(str(value))


def uniques(conn: Connection, settings: LoginsSettings, grain: Grain, start: date,
            end: date) -> Uniques:
    """Distinct users per period of `grain` overlapping [start, end], counting only the range's
    days; every period present, 0 where nobody logged in."""
    d = days.c
    rows = _fetch(conn, select(d.day, d.encoding, d.data).where(d.day >= start, d.day <= end)
                  .order_by(d.day))
    nbytes = _bitmap_bytes(conn, rows)
    dates = [_as_date(day) for day, _, _ in rows]
    stored = [(int(enc), bytes(data)) for _, enc, data in rows]
    checkpoint = stored_checkpoint(conn)
    week_end = settings.logins_week_end
    counts = []
    for p in periods(start, end, grain, week_end):
        lo, hi = max(p.first, start), min(p.last, end)
        inside = stored[bisect_left(dates, lo):bisect_right(dates, hi)]
        counts.append(PeriodCount(
            p.last, daysets.distinct(inside, nbytes), len(inside), p.days,
            checkpoint is not None and checkpoint >= p.last and len(inside) == p.days))
    return Uniques(grain, start, end, settings.logins_timezone, f"W-{week_end}", checkpoint,
                   counts)


def _fetch(conn: Connection, stmt: Select[Any]) -> Sequence[Any]:
    """The rows of `stmt`; on PostgreSQL (psycopg) in binary format: the day sets of two
    years are megabytes, and psycopg's default text format sends bytea as hex (twice the
    bytes, then decoded), which made the read 2-3 times slower (docs/benchmarks.md)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return conn.execute(stmt).all()
    compiled = stmt.compile(dialect=conn.dialect)  # bound parameters, as SQLAlchemy sends them
    with conn.connection.driver_connection.cursor(binary=True) as cursor:  # type: ignore[union-attr]
        cursor.execute(str(compiled), compiled.params)
        rows: list[Any] = cursor.fetchall()
    return rows


def _bitmap_bytes(conn: Connection, rows: Sequence[Any]) -> int:
    if not rows:
        return 1
    top = conn.execute(select(func.max(users.c.user_id))).scalar()
    return (int(top or 0)) // 8 + 1


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def day_users(conn: Connection, day: date) -> set[str]:
    """The user names stored for one day (for checks and the CLI)."""
    row = conn.execute(select(days.c.encoding, days.c.data).where(days.c.day == day)).first()
    if row is None:
        return set()
    ids = {int(i) for i in daysets.decode(row.encoding, bytes(row.data))}
    if not ids:
        return set()
    return {name for uid, name in conn.execute(select(users.c.user_id, users.c.name))
            if uid in ids}
