"""Reads for the report, the API and the CLI: polls, hours, stores and report runs."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, func, select

from kpiflow.packs.stores.report import Inputs, window_bounds
from kpiflow.packs.stores.tables import hours, polls, reports, stores

POLL_SCHEMA = {"store_key": pl.Int64, "ts_us": pl.Int64, "active": pl.Int8}


def latest_poll_us(conn: Connection) -> int | None:
    """The newest poll's instant (the report's default "now")."""
    value = conn.execute(select(func.max(polls.c.ts_us))).scalar()
    return None if value is None else int(value)


def _frame(conn: Connection, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of a select as a typed frame, fetched through the driver's cursor (fast)."""
    # Values stay bound parameters (literal_binds doubled the `%` of ids on PostgreSQL/MariaDB).
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args: Any = (tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional
                 else params)
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(str(compiled), args)
        rows = cur.fetchall()
    finally:
        cur.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def report_inputs(
    conn: Connection, now_us: int, default_zone: str, store_ids: list[str] | None = None
) -> Inputs:
    """Everything the report needs for windows ending at `now_us` (polls after it are ignored)."""
    week_lo = window_bounds(now_us)["week"][0]
    keys = None
    if store_ids is not None:
        keys = select(stores.c.store_key).where(stores.c.store_id.in_(store_ids))
    in_week = select(polls.c.store_key, polls.c.ts_us, polls.c.active).where(
        polls.c.ts_us >= week_lo, polls.c.ts_us <= now_us)
    last_before = (select(polls.c.store_key, func.max(polls.c.ts_us).label("ts_us"))
                   .where(polls.c.ts_us < week_lo).group_by(polls.c.store_key))
    if keys is not None:
        in_week = in_week.where(polls.c.store_key.in_(keys))
        last_before = last_before.where(polls.c.store_key.in_(keys))
    lb = last_before.subquery()
    before = select(polls.c.store_key, polls.c.ts_us, polls.c.active).join_from(
        polls, lb, and_(polls.c.store_key == lb.c.store_key, polls.c.ts_us == lb.c.ts_us))
    poll_frame = pl.concat([_frame(conn, before, POLL_SCHEMA), _frame(conn, in_week, POLL_SCHEMA)])
    poll_frame = poll_frame.sort("store_key", "ts_us")
    polled = poll_frame["store_key"].unique()
    store_rows = _frame(conn, select(stores.c.store_key, stores.c.store_id, stores.c.timezone),
                        {"store_key": pl.Int64, "store_id": pl.String, "zone": pl.String})
    store_rows = store_rows.filter(pl.col("store_key").is_in(polled.implode())).with_columns(
        pl.col("zone").fill_null(default_zone))
    hour_rows = _frame(conn, select(hours.c.store_key, hours.c.day, hours.c.start_s, hours.c.end_s),
                       {"store_key": pl.Int64, "day": pl.Int16, "start_s": pl.Int32,
                        "end_s": pl.Int32})
    hour_rows = hour_rows.filter(pl.col("store_key").is_in(polled.implode()))
    return Inputs(poll_frame, hour_rows, store_rows, now_us)


def report_row(conn: Connection, report_id: str) -> dict[str, Any] | None:
    """One report run, or None."""
    row = conn.execute(select(reports).where(reports.c.report_id == report_id)).mappings().first()
    return dict(row) if row else None


def running_reports(conn: Connection) -> list[str]:
    """Ids of reports recorded as Running (some may have lost their worker)."""
    stmt = select(reports.c.report_id).where(reports.c.status == "Running")
    return list(conn.scalars(stmt.order_by(reports.c.requested_at)))
