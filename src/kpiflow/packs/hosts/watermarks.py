"""The buffer's watermarks: how far the flush and the alarm job got (`tables.progress`)."""

from __future__ import annotations

from sqlalchemy import Connection, ScalarSelect, select, update

from kpiflow.errors import StateError
from kpiflow.packs.hosts.tables import progress

p = progress.c


def upto(name: str) -> ScalarSelect[int]:
    """The watermark as a subquery, so that a read sees it and the samples in one snapshot."""
    return select(p.upto).where(p.name == name).scalar_subquery()


def read(conn: Connection, name: str) -> int:
    """The watermark now."""
    return int(conn.execute(select(p.upto).where(p.name == name)).scalar_one())


def advance(conn: Connection, name: str, was: int, to: int) -> None:
    """Move the watermark from `was` to `to` in the caller's transaction. A watermark that moved
    meanwhile means two runs of one job at once (the pack's lock forbids it): refuse, so that the
    transaction rolls back rather than taking samples twice."""
    moved = conn.execute(update(progress).where(p.name == name, p.upto == was).values(upto=to))
    if moved.rowcount != 1:
        raise StateError(f"the hosts {name} watermark moved during this run; run it again")
