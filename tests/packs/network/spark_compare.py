"""What two network passes must agree on: the KPI tables, coverage, ledger, quarantine, state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import create_engine, select

from kpiflow.config import Settings
from kpiflow.packs.network import tables
from kpiflow.store.tables import ledger, quarantine


def settings_for(root: Path, engine: str, name: str) -> Settings:
    """A database and state folder of their own (`name`), over the shared `root/data`."""
    return Settings(database_url=f"sqlite:///{root / name}.db", data_dir=root / "data",
                    state_dir=root / f"{name}-state", engine=engine)


def snapshot(settings: Settings) -> dict[str, Any]:
    """Every row a pass writes that does not depend on when it ran (no ids, no clock times)."""
    db = create_engine(settings.database_url)
    out: dict[str, Any] = {}
    with db.connect() as conn:
        for table in (tables.service_traffic_volume, tables.cell_unique_users):
            cols = [c for c in table.c if c.name != "id"]
            out[table.name] = [tuple(r) for r in conn.execute(select(*cols).order_by(*cols))]
        ci = tables.content_intervals
        out["content_intervals"] = [tuple(r) for r in conn.execute(
            select(ci).order_by(ci.c.sha256, ci.c.interval_start_timestamp))]
        out["dirty_intervals"] = sorted(conn.scalars(
            select(tables.dirty_intervals.c.interval_start_timestamp)))
        lc = ledger.c
        out["ledger"] = [tuple(r) for r in conn.execute(
            select(lc.pack, lc.path, lc.size, lc.sha256, lc.status, lc.rows, lc.bad_rows, lc.error)
            .order_by(lc.path))]
        q = quarantine.c
        out["quarantine"] = [tuple(r) for r in conn.execute(
            select(lc.path, q.line, q.reason, q.raw).join_from(quarantine, ledger,
                                                               q.ledger_id == lc.id)
            .order_by(lc.path, q.line))]
    db.dispose()
    return out


def state(settings: Settings) -> dict[str, pl.DataFrame]:
    """Each state file's rows, sorted (row order within a file is no part of the format)."""
    root = settings.resolved_state_dir / "network"
    frames = {}
    for path in sorted(root.glob("*/*.parquet")):
        frame = pl.read_parquet(path)
        frames[path.name] = frame.sort(frame.columns)
    return frames


def assert_same_state(one: Settings, other: Settings) -> None:
    """The same state files, with the same schema and rows."""
    mine, theirs = state(one), state(other)
    assert sorted(mine) == sorted(theirs)
    for name, frame in mine.items():
        assert frame.schema == theirs[name].schema, name
        assert frame.equals(theirs[name]), name
