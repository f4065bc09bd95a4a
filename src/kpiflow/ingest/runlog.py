"""The run log: when each pass ran, what it did and whether it finished."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from kpiflow.store.tables import runs

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"


def start(conn: Connection, pack: str) -> int:
    """Log a new pass; any other `running` pass of the pack died (we hold its lock)."""
    conn.execute(
        update(runs)
        .where(runs.c.pack == pack, runs.c.status == RUNNING)
        .values(status=INTERRUPTED)
    )
    zero = {c.name: 0 for c in runs.c if c.name.startswith("files_")} | {
        "rows": 0, "bad_rows": 0, "intervals_updated": 0, "hours_updated": 0}
    result = conn.execute(
        insert(runs).values(pack=pack, started_at=datetime.now(UTC), status=RUNNING, **zero)
    )
    return int(result.inserted_primary_key[0])


def finish(
    conn: Connection, run_id: int, counts: Mapping[str, Any], error: str | None = None
) -> None:
    """Record the outcome of a pass."""
    known = {k: v for k, v in counts.items() if k in runs.c}
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            finished_at=datetime.now(UTC),
            status=FAILED if error else OK,
            error=error,
            **known,
        )
    )
