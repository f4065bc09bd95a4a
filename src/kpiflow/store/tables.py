"""Core tables: the ingest ledger, the quarantine of bad rows, and the run log."""

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

metadata = MetaData()

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
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("pack", "path", name="uq_ingest_ledger_pack_path"),
    Index("ix_ingest_ledger_sha256", "sha256"),
)

quarantine = Table(
    "ingest_quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pack", String(32), nullable=False),
    Column("ledger_id", BigInteger, nullable=False, index=True),
    Column("line", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("raw", Text, nullable=False),
)

runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pack", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("status", String(16), nullable=False),
    Column("files_new", Integer, nullable=False, default=0),
    Column("files_changed", Integer, nullable=False, default=0),
    Column("files_unchanged", Integer, nullable=False, default=0),
    Column("files_rejected", Integer, nullable=False, default=0),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("bad_rows", BigInteger, nullable=False, default=0),
    Column("intervals_updated", Integer, nullable=False, default=0),
    Column("hours_updated", Integer, nullable=False, default=0),
    Column("seconds", Float, nullable=True),
    Column("error", Text, nullable=True),
)
