"""Bad rows, kept with the file, line, reason and raw text so that nothing is silently lost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert

from kpiflow.store.tables import quarantine

RAW_LIMIT = 2000  # a 10k-column line is kept as its start; the file itself is the full record


@dataclass(frozen=True)
class BadRow:
    """One rejected row: 1-based line number in its file, why, and the line as text."""

    line: int
    reason: str
    raw: str


def printable(raw: bytes) -> str:
    """Text safe for every database: invalid UTF-8 escaped, NUL spelled out, long lines cut."""
    text = raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "...[truncated]"


def replace(conn: Connection, pack: str, ledger_id: int, rows: Sequence[BadRow]) -> None:
    """Make `rows` the quarantine of one ledger entry (a corrected file drops its old rows)."""
    conn.execute(delete(quarantine).where(quarantine.c.ledger_id == ledger_id))
    if rows:
        conn.execute(
            insert(quarantine),
            [
                {"pack": pack, "ledger_id": ledger_id, "line": r.line,
                 "reason": r.reason[:500], "raw": r.raw}
                for r in rows
            ],
        )


def add(conn: Connection, pack: str, source: str, rows: Sequence[BadRow]) -> None:
    """Quarantine rows that came from no file (a pushed batch, a database row): `source` says
    where from (`batch <key> from <host>`, `table logs row 42`)."""
    if rows:
        conn.execute(
            insert(quarantine),
            [{"pack": pack, "ledger_id": None, "source": source[:500], "line": r.line,
              "reason": r.reason[:500], "raw": r.raw} for r in rows],
        )
