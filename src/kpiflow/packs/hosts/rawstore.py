"""Raw samples as hourly Parquet files under `<state dir>/hosts/raw/`, read with DuckDB.

A file is written as `<name>.pending` (fsynced), then listed in `hosts_parquet_files` in the same
transaction that moves the flush's watermark past its samples, then renamed. `recover` finishes or
discards what a crash left between those steps, so a sample is in exactly one place: above the
watermark in SQL, or in one listed file. Values are kept as hundredths of a percentage point
(UInt16): exact to 0.005.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import Connection, select

from kpiflow.errors import StateError
from kpiflow.packs.hosts.tables import parquet_files

HOUR_MS = 3_600_000
SCHEMA = {"ts_ms": pl.Int64, "host_id": pl.String, "pid": pl.Int64, "started_ms": pl.Int64,
          "name": pl.String, "resource": pl.Int8, "centi": pl.UInt16}
SORT = ["host_id", "pid", "started_ms", "resource", "ts_ms"]


def raw_root(state_root: Path) -> Path:
    """Where the pack's Parquet files live (state_root is `<state dir>/hosts`)."""
    return state_root / "raw"


def frame(df: pl.DataFrame) -> pl.DataFrame:
    """Samples (value in percent) as the stored frame, sorted so that columns compress."""
    return (df.with_columns((pl.col("value") * 100).round(0).cast(pl.UInt16).alias("centi"))
            .select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).sort(SORT))


def write_pending(root: Path, hour_ms: int, df: pl.DataFrame) -> tuple[str, Path, int]:
    """Write one hour's samples as a pending file; returns its name, pending path and size."""
    name = f"hour={hour_ms}/{uuid.uuid4().hex}.parquet"
    pending = root / (name + ".pending")
    try:
        pending.parent.mkdir(parents=True, exist_ok=True)
        df.write_parquet(pending, compression="zstd", compression_level=9, statistics=True,
                         row_group_size=1_000_000)
        fd = os.open(pending, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except (OSError, pl.exceptions.PolarsError) as exc:
        pending.unlink(missing_ok=True)
        raise StateError(f"cannot write raw samples under {root}: {exc}") from exc
    return name, pending, pending.stat().st_size


def publish(root: Path, name: str) -> None:
    """Rename a committed pending file to its listed name."""
    os.replace(root / (name + ".pending"), root / name)


def recover(conn: Connection, root: Path) -> int:
    """Publish pending files whose commit happened; delete those whose commit did not."""
    if not root.is_dir():
        return 0
    listed = set(conn.execute(select(parquet_files.c.name)).scalars())
    fixed = 0
    for pending in root.glob("hour=*/*.parquet.pending"):
        name = pending.relative_to(root).as_posix().removesuffix(".pending")
        if name in listed:
            publish(root, name)
        else:
            pending.unlink()
        fixed += 1
    return fixed


def read(root: Path, names: list[str], sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run `sql` over the listed files as the view `raw` (value in percent); DuckDB, in memory."""
    con = duckdb.connect()
    try:
        paths = [str(root / n) for n in names]
        if paths:
            con.register("raw_files", con.read_parquet(paths))
            con.execute("CREATE VIEW raw AS SELECT ts_ms, host_id, pid, started_ms, name, resource,"
                        " centi / 100.0 AS value FROM raw_files")
        else:
            con.execute("CREATE VIEW raw AS SELECT 0::BIGINT ts_ms, ''::VARCHAR host_id, 0::BIGINT"
                        " pid, 0::BIGINT started_ms, ''::VARCHAR name, 0::TINYINT resource, "
                        "0.0::DOUBLE value WHERE false")
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
