"""Insert-or-update per dialect, so a re-computed row replaces its old value in place."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import Any

from sqlalchemy import Connection, Table


def _dialect(conn: Connection) -> Any:
    """The dialect package of `conn` (mysql, postgresql or sqlite), already imported by its
    engine: importing all three up front cost a tenth of a second of every pass's start."""
    name = conn.dialect.name
    return import_module(f"sqlalchemy.dialects.{name if name in ('mysql', 'postgresql') else 'sqlite'}")


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    """Upsert `rows` into `table`; `key` names the unique constraint's columns."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in key]
    module = _dialect(conn)
    if conn.dialect.name == "mysql":
        stmt = module.insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in columns})
    else:
        stmt = module.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    conn.execute(stmt, list(rows))


def insert_missing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows`, silently keeping any row whose primary key already exists."""
    if not rows:
        return
    module = _dialect(conn)
    if conn.dialect.name == "mysql":
        stmt = module.insert(table).prefix_with("IGNORE")
    else:
        stmt = module.insert(table).on_conflict_do_nothing()
    conn.execute(stmt, list(rows))
