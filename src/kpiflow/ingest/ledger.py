"""The ledger: one row per source file with its fingerprint, status and counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, insert, select, update

from kpiflow.store.db import inserted_id
from kpiflow.store.tables import ledger

INGESTED = "ingested"
REJECTED = "rejected"


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger knows of one file path."""

    id: int
    path: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    sha256: str
    status: str
    rows: int
    bad_rows: int

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        """The file stamp recorded when the content was last read."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def load(conn: Connection, pack: str) -> dict[str, LedgerEntry]:
    """Every ledger entry of `pack`, by path."""
    cols = [ledger.c[n] for n in LedgerEntry.__dataclass_fields__]
    result = conn.execute(select(*cols).where(ledger.c.pack == pack))
    return {row.path: LedgerEntry(*row) for row in result}


def counted_contents(pack: str) -> Select[tuple[str]]:
    """The sha256 of every content that counts: those of ingested files, each once."""
    stmt = select(ledger.c.sha256).where(ledger.c.pack == pack, ledger.c.status == INGESTED)
    return stmt.distinct()


def active_shas(conn: Connection, pack: str) -> set[str]:
    """Contents that currently count, as a set."""
    return set(conn.scalars(counted_contents(pack)))


def record(
    conn: Connection,
    pack: str,
    *,
    path: str,
    stamp: tuple[int, int, int, int],
    sha256: str,
    status: str,
    rows: int,
    bad_rows: int,
    error: str | None,
    existing: LedgerEntry | None,
) -> int:
    """Insert or update the entry of `path`; returns its id."""
    now = datetime.now(UTC)
    values = {
        **_stamp_values(stamp), "sha256": sha256, "status": status,
        "rows": rows, "bad_rows": bad_rows, "error": error, "updated_at": now,
    }
    if existing is not None:
        conn.execute(update(ledger).where(ledger.c.id == existing.id).values(values))
        return existing.id
    result = conn.execute(
        insert(ledger).values(pack=pack, path=path, first_seen_at=now, **values)
    )
    return inserted_id(result)


def touch(conn: Connection, entry: LedgerEntry, stamp: tuple[int, int, int, int]) -> None:
    """Remember the new stamp of a file whose content did not change."""
    conn.execute(
        update(ledger)
        .where(ledger.c.id == entry.id)
        .values(**_stamp_values(stamp), updated_at=datetime.now(UTC))
    )


def _stamp_values(stamp: tuple[int, int, int, int]) -> dict[str, int]:
    size, mtime_ns, ctime_ns, inode = stamp
    return {"size": size, "mtime_ns": mtime_ns, "ctime_ns": ctime_ns, "inode": inode}


def mark_for_reingest(conn: Connection, entry_id: int) -> str | None:
    """Make the next pass read this file again (its recorded stamp no longer matches).

    Returns the file's path, or None when there is no such entry. Its content still counts
    until then; if the bytes are the same, re-reading them changes nothing.
    """
    path = conn.execute(select(ledger.c.path).where(ledger.c.id == entry_id)).scalar()
    if path is not None:
        conn.execute(
            update(ledger)
            .where(ledger.c.id == entry_id)
            .values(size=-1, mtime_ns=-1, ctime_ns=-1, inode=-1, updated_at=datetime.now(UTC))
        )
    return path
