"""The run log: when each pass ran, which job, what it did (the pack's own counts), how it ended."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, update

from kpiflow.store.db import inserted_id
from kpiflow.store.tables import runs

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"


def start(conn: Connection, pack: str, job: str) -> int:
    """Log a new pass; any other `running` pass of the job died (we hold its lock)."""
    conn.execute(
        update(runs)
        .where(runs.c.pack == pack, runs.c.job == job, runs.c.status == RUNNING)
        .values(status=INTERRUPTED)
    )
    result = conn.execute(
        insert(runs).values(pack=pack, job=job, started_at=datetime.now(UTC), status=RUNNING,
                            counts="{}")
    )
    return inserted_id(result)


def finish(
    conn: Connection, run_id: int, counts: Mapping[str, int | float], seconds: float,
    error: str | None = None,
) -> None:
    """Record the outcome of a pass: its counts, duration and, if it failed, why."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            finished_at=datetime.now(UTC),
            status=FAILED if error else OK,
            error=None if error is None else error[:2000],
            seconds=seconds,
            counts=json.dumps(dict(counts)),
        )
    )


def decode_counts(raw: str | None) -> dict[str, int | float]:
    """The counts a run recorded (an empty dict for none)."""
    if not raw:
        return {}
    value = json.loads(raw)
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}
