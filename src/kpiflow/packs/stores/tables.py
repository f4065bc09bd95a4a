"""Tables of the stores pack: stores, polls, business hours and report runs.

Polls reference a store by a small integer key (`stores_stores.store_key`) rather than by its
string id: the 1.8M-row poll table is then three integers per row, which SQLite writes and reads
about twice as fast as a text key.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from kpiflow.store.tables import Id

metadata = MetaData()

stores = Table(
    "stores_stores",
    metadata,
    Column("store_key", Id, primary_key=True, autoincrement=True),
    Column("store_id", String(64), nullable=False, unique=True),
    Column("timezone", String(64), nullable=True),  # NULL: not in any timezones file
)

# One row per (store, instant): a poll delivered twice is stored once. Time in Unix microseconds.
polls = Table(
    "stores_polls",
    metadata,
    Column("store_key", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_us", BigInteger, primary_key=True, autoincrement=False),
    Column("active", SmallInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Local business hours as loaded (seconds since local midnight); the report interprets them.
hours = Table(
    "stores_hours",
    metadata,
    Column("store_key", BigInteger, primary_key=True, autoincrement=False),
    Column("day", SmallInteger, primary_key=True, autoincrement=False),
    Column("start_s", Integer, primary_key=True, autoincrement=False),
    Column("end_s", Integer, primary_key=True, autoincrement=False),
)

reports = Table(
    "stores_reports",
    metadata,
    Column("report_id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),  # Running, Complete, Failed
    Column("now_us", BigInteger, nullable=True),  # NULL: the latest poll
    Column("detail", SmallInteger, nullable=False, default=0),
    Column("max_hold_s", BigInteger, nullable=True),
    Column("stores_done", Integer, nullable=False, default=0),
    Column("stores_total", Integer, nullable=False, default=0),
    Column("rows", Integer, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)
