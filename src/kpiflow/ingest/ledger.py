"""The ledger: one row per source file with its fingerprint, status and counts.

A content is identified by a hash of its bytes (the `sha256` column, named for its first
algorithm): 60 hex digits of BLAKE3 (240 bits) for a database started by this release, the 64
hex digits of sha256 for one that already identifies contents that way; the length says which
(hex only: state files are named by the id, and the first two digits spread them over folders).
A database keeps its scheme: a file re-delivered under another name must get the id its bytes
had the first time, or it would count twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, insert, select, update

from kpiflow.store.db import inserted_id
from kpiflow.store.tables import ledger

BLAKE3 = "blake3"
SHA256 = "sha256"
_SHA256_HEX = 64
_BLAKE3_BYTES = 30  # 240 bits: as strong as the ledger needs, and never the length of a sha256

INGESTED = "ingested"
REJECTED = "rejected"
UNREADABLE = "unreadable"  # could not be read (permissions, I/O error): retried every pass


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
    error: str | None = None

    @property
    def stamp(self) -> tuple[int, int, int, int]:
        """The file stamp recorded when the content was last read."""
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode)


def content_id(data: bytes, scheme: str = BLAKE3) -> str:
    """The id of a content under `scheme` (`identity_scheme` says which a pack uses)."""
    if scheme == SHA256:
        return hashlib.sha256(data).hexdigest()
    from blake3 import blake3  # here: nothing but a pass that reads files needs it

    return blake3(data).hexdigest(length=_BLAKE3_BYTES)


def scheme_of(cid: str) -> str:
    """The algorithm a content id was made with."""
    return SHA256 if len(cid) == _SHA256_HEX else BLAKE3


def matches(data: bytes, cid: str) -> bool:
    """Whether `data` is the content `cid` names (under the algorithm of that id)."""
    return content_id(data, scheme_of(cid)) == cid


def identity_scheme(entries: Iterable[LedgerEntry]) -> str:
    """How the pack identifies new contents: sha256 when its ledger holds a sha256 id (a
    database written before BLAKE3), else BLAKE3."""
    legacy = any(e.sha256 and scheme_of(e.sha256) == SHA256 for e in entries)
    return SHA256 if legacy else BLAKE3


def load(conn: Connection, pack: str) -> dict[str, LedgerEntry]:
    """Every ledger entry of `pack`, by path."""
    cols = [ledger.c[n] for n in LedgerEntry.__dataclass_fields__]
    result = conn.execute(select(*cols).where(ledger.c.pack == pack))
    return {row.path: LedgerEntry(*row) for row in result}


def counted_contents(pack: str) -> Select[tuple[str]]:
    """The id of every content that counts: those of ingested files, each once."""
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


def note_problem(
    conn: Connection,
    pack: str,
    *,
    path: str,
    stamp: tuple[int, int, int, int],
    status: str,
    error: str,
    existing: LedgerEntry | None,
) -> None:
    """Record why an entry cannot be read or ingested, without touching what already counts.

    A path never ingested gets `status` (REJECTED or UNREADABLE). A path whose earlier content
    was ingested keeps its status and content, as if the file had been archived, and the
    error says what is wrong now; its stamp is left as it was, so every pass tries again.
    """
    if existing is not None and existing.error == error and existing.status in (status, INGESTED):
        return  # already recorded: a pass over an unchanged bad entry writes nothing
    now = datetime.now(UTC)
    if existing is None:
        conn.execute(insert(ledger).values(
            pack=pack, path=path, first_seen_at=now, updated_at=now, **_stamp_values(stamp),
            sha256="", status=status, rows=0, bad_rows=0, error=error))
    elif existing.status == INGESTED:
        conn.execute(update(ledger).where(ledger.c.id == existing.id)
                     .values(error=error, updated_at=now))
    else:
        conn.execute(update(ledger).where(ledger.c.id == existing.id).values(
            **_stamp_values(stamp), sha256="", status=status, rows=0, bad_rows=0, error=error,
            updated_at=now))


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
