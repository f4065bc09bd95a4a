"""Insert-or-update per dialect, so a re-computed row replaces its old value in place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]
) -> None:
    """Upsert `rows` into `table`; `key` names the unique constraint's columns."""
    if not rows:
        return
    columns = [c for c in rows[0] if c not in key]
    dialect = conn.dialect.name
    if dialect == "mysql":
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in columns})
    else:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in columns}
        )
    conn.execute(stmt, list(rows))


def insert_missing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows`, silently keeping any row whose primary key already exists."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "mysql":
        stmt = mysql.insert(table).prefix_with("IGNORE")
    else:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table).on_conflict_do_nothing()
    conn.execute(stmt, list(rows))
