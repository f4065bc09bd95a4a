"""Migration operations that can be run again after a crash half-way through.

MariaDB and MySQL commit every CREATE at once, so a process killed during a migration leaves
some tables made and the revision unrecorded; a plain re-run would fail on "already exists"
forever. These skip what is already there. PostgreSQL and SQLite roll DDL back, and pass
through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


def create_table(name: str, *elements: Any, **options: Any) -> None:
    """op.create_table, unless the table exists."""
    if not sa.inspect(op.get_bind()).has_table(name):
        op.create_table(name, *elements, **options)


def table_columns(table: str) -> set[str]:
    """The names of the table's columns now."""
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _indexes(table: str) -> set[str]:
    return {str(ix["name"]) for ix in sa.inspect(op.get_bind()).get_indexes(table)}


def create_index(name: str, table: str, columns: Sequence[str]) -> None:
    """op.create_index, unless the table has an index of that name, or lacks one of the columns
    (a later revision, already applied, dropped it with its index)."""
    if name not in _indexes(table) and set(columns) <= table_columns(table):
        op.create_index(name, table, list(columns))


def drop_index(name: str, table: str) -> None:
    """op.drop_index, unless the table has no index of that name any more."""
    if name in _indexes(table):
        op.drop_index(name, table_name=table)
