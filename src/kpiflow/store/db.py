"""SQLAlchemy engines from DATABASE_URL, with the same behaviour on every supported database."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from kpiflow.errors import ConfigError, DatabaseUnavailable

# Plain scheme names map to the driver we ship, so users can write what they know.
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql",
}


def normalize_url(database_url: str) -> URL:
    """Parse a DATABASE_URL and pick the bundled driver for bare scheme names."""
    url = make_url(database_url)
    backend = url.drivername
    if backend in _DRIVERS:
        url = url.set(drivername=_DRIVERS[backend])
    if url.get_backend_name() not in ("sqlite", "postgresql", "mysql"):
        raise ConfigError(f"unsupported database {url.get_backend_name()!r}")
    return url


def redacted(database_url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(database_url).render_as_string(hide_password=True)


_SQLITE_BUSY_SECONDS = 30


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An engine for DATABASE_URL; SQLite gets WAL and a busy timeout for concurrent readers."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": _SQLITE_BUSY_SECONDS}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.get_backend_name() == "mysql":
        url = url.update_query_dict({"charset": "utf8mb4"})
        # READ COMMITTED, as PostgreSQL: InnoDB's default (REPEATABLE READ) takes gap locks on
        # everything an UPDATE scans, and two passes starting at once (the run log's update
        # then insert) or jobs marking rows side by side deadlocked on them.
        kwargs.setdefault("isolation_level", "READ COMMITTED")
        return create_engine(url, pool_pre_ping=True, pool_recycle=3600, **kwargs)
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10}, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_SECONDS * 1000}")
    _switch_to_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _switch_to_wal(cur: sqlite3.Cursor) -> None:
    # Two connections switching a new database to WAL at once (two passes started together on a
    # fresh file) can make SQLite answer "database is locked" at once, without waiting out the
    # busy timeout, to avoid a deadlock. The mode persists in the file, so retry until the winner's
    # switch is done.
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def ping(engine: Engine, database_url: str) -> None:
    """Raise DatabaseUnavailable naming the database unless it answers `SELECT 1`."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach database {redacted(database_url)}: {reason}"
        ) from exc


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT added."""
    key = result.inserted_primary_key
    if key is None:
        raise ValueError("not the result of a one-row INSERT")
    return int(key[0])
