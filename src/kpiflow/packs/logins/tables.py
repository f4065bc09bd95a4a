"""Tables of the logins pack: a user dictionary and one compact user set per extracted day.

A day's distinct users are stored as one row: the users' dictionary ids, either as a bitmap or
as a sorted uint32 array, whichever is smaller (docs/logins.md measures both). Every extracted
day has a row, an empty day too (`users` 0), so a day that became empty is stored as empty and
a period can tell how many of its days were extracted.

`logins_files` remembers, per ledger entry (a source file), the local days its logins fall on
under the rules they were read with, so a run re-reads an unchanged file only when it holds
lines of a day the run extracts.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.dialects import mysql

metadata = MetaData()

# LONGBLOB on MariaDB: a plain BLOB stops at 64 KiB, a bitmap of 600k users does not fit.
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

users = Table(
    "logins_users",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False, unique=True),
)

days = Table(
    "logins_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("users", Integer, nullable=False),  # distinct users that day
    Column("logins", BigInteger, nullable=False),  # login events that day
    Column("encoding", SmallInteger, nullable=False),  # 0 = sorted uint32 ids, 1 = bitmap
    Column("data", Blob, nullable=False),
)

files = Table(
    "logins_files",
    metadata,
    Column("ledger_id", BigInteger, primary_key=True, autoincrement=False),  # ingest_ledger.id
    Column("rules", String(64), nullable=False),  # sha256 of the rules the file was read with
    Column("days", Blob, nullable=False),  # sorted little-endian int32 day ordinals
)
