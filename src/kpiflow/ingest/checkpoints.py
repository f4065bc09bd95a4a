"""A pack's named checkpoints: how far a checkpointed job has come, kept in the database.

`set` takes the caller's connection, so a checkpoint moves in the same transaction as the work
it records: after a crash, the checkpoint and the data agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, select

from kpiflow.store.tables import checkpoints
from kpiflow.store.upsert import upsert


class Checkpoints:
    """The checkpoints of one pack."""

    def __init__(self, db: Engine, pack: str) -> None:
        self.db = db
        self.pack = pack

    def get(self, name: str) -> str | None:
        """The checkpoint's value, or None when it was never set (or was reset)."""
        c = checkpoints.c
        with self.db.connect() as conn:
            value = conn.execute(
                select(c.value).where(c.pack == self.pack, c.name == name)).scalar()
        return None if value is None else str(value)

    def set(self, conn: Connection, name: str, value: str) -> None:
        """Move the checkpoint, inside the caller's transaction."""
        upsert(conn, checkpoints, [{"pack": self.pack, "name": name, "value": value,
                                    "updated_at": datetime.now(UTC)}], key=("pack", "name"))

    def reset(self, conn: Connection, name: str) -> None:
        """Forget the checkpoint (the job starts over)."""
        c = checkpoints.c
        conn.execute(delete(checkpoints).where(c.pack == self.pack, c.name == name))
