"""Core tables: the ingest ledger, the quarantine of bad rows, and the run log."""

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC and always read back timezone-aware.

    SQLite and MariaDB keep no zone, so their values come back naive; this makes every
    dialect return the same aware UTC datetime (and the API a valid RFC 3339 date-time).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: kpiflow stores instants in UTC")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = BigInteger().with_variant(Integer(), "sqlite")

ledger = Table(
    "ingest_ledger",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pack", String(32), nullable=False),
    Column("path", String(700), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("ctime_ns", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("bad_rows", BigInteger, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("pack", "path", name="uq_ingest_ledger_pack_path"),
    Index("ix_ingest_ledger_sha256", "sha256"),
)

quarantine = Table(
    "ingest_quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pack", String(32), nullable=False),
    Column("ledger_id", BigInteger, nullable=True, index=True),  # NULL: not from a file
    Column("source", String(500), nullable=True),  # where a non-file row came from
    Column("line", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("raw", Text, nullable=False),
)

runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pack", String(32), nullable=False),
    Column("job", String(64), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("seconds", Float, nullable=True),
    Column("error", Text, nullable=True),
    Column("counts", Text, nullable=True),  # the pack's own counts, a JSON object
)

checkpoints = Table(
    "pack_checkpoints",
    metadata,
    Column("pack", String(32), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
