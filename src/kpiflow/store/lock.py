"""One pass at a time per job and database, with a lock the server frees if its holder dies.

PostgreSQL: a session advisory lock; MariaDB/MySQL: GET_LOCK; SQLite: flock on a file beside
the database file (`.<database>.locks/<name>.lock`), so the lock belongs to the database whatever
state folder a pass uses (an in-memory database locks in `lock_dir`). All three are released
by the operating system or the server when the holding process exits, even on `kill -9`, so
a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from kpiflow.errors import DatabaseUnavailable, LockBusy, StateError

POLL_SECONDS = 0.2


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _server_lock_name(conn: Connection, name: str) -> str:
    # MariaDB lock names are server-wide, PostgreSQL advisory keys per database: scope by database.
    database = conn.execute(text("SELECT DATABASE()")).scalar() or ""
    scoped = f"{name}:{database}"
    if len(scoped) > 64:
        scoped = f"{name[:40]}:{hashlib.blake2b(database.encode(), digest_size=8).hexdigest()}"
    return scoped


def _try_server_lock(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "postgresql":
        stmt = text("SELECT pg_try_advisory_lock(:k)")
        return bool(conn.execute(stmt, {"k": _advisory_key(name)}).scalar())
    stmt = text("SELECT GET_LOCK(:n, 0)")
    return conn.execute(stmt, {"n": _server_lock_name(conn, name)}).scalar() == 1


def _release_server_lock(conn: Connection, name: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(name)})
    else:
        conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _server_lock_name(conn, name)})
    conn.commit()


@contextmanager
def _lock_file(path: Path) -> Iterator[IO[str]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as exc:
        raise StateError(f"cannot create lock file {path}: {exc.strerror or exc}") from exc
    with handle:
        yield handle


def _sqlite_lock_path(engine: Engine, name: str, lock_dir: Path) -> Path:
    """The lock file of `name` for a SQLite database: beside the database file itself."""
    database = engine.url.database
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return lock_dir / f"{name}.lock"
    db_file = Path(database).resolve()
    return db_file.with_name(f".{db_file.name}.locks") / f"{name}.lock"


LockCheck = Callable[[], None]


def forget(engine: Engine, name: str, lock_dir: Path) -> None:
    """Delete the lock file of `name` once nothing takes that lock any more (one per report
    run would otherwise pile up); a server lock leaves nothing behind."""
    if engine.dialect.name == "sqlite":
        _sqlite_lock_path(engine, name, lock_dir).unlink(missing_ok=True)


def _always_held() -> None:
    """A file lock cannot be lost while this process lives."""


@contextmanager
def run_lock(
    engine: Engine, name: str, lock_dir: Path, timeout: float = 0.0
) -> Iterator[LockCheck]:
    """Hold the lock `name` for the block; wait up to `timeout` seconds, then raise LockBusy.

    Yields a check to call before each commit: a server lock dies with its connection (the
    server killed it, a network cut), and then raises DatabaseUnavailable, so a pass never
    goes on writing without the lock that keeps a second pass out.
    """
    deadline = time.monotonic() + timeout
    busy = LockBusy(f"another {name} pass is running on this database; try again later")
    if engine.dialect.name == "sqlite":
        with _lock_file(_sqlite_lock_path(engine, name, lock_dir)) as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise busy from None
                    time.sleep(POLL_SECONDS)
            try:
                yield _always_held
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    # A dedicated connection: the lock lives exactly as long as this session.
    with engine.connect() as conn:
        while not _try_server_lock(conn, f"kpiflow:{name}"):
            if time.monotonic() >= deadline:
                raise busy
            time.sleep(POLL_SECONDS)
        conn.commit()

        def check() -> None:
            try:
                conn.execute(text("SELECT 1")).scalar()
                conn.commit()
            except SQLAlchemyError as exc:
                raise DatabaseUnavailable(
                    f"lost the {name} lock: the database closed its connection"
                ) from exc

        try:
            yield check
        finally:
            # Released explicitly: a closed session frees the lock too, but only once the
            # server has noticed, so the next pass of this process could find it still taken.
            try:
                _release_server_lock(conn, f"kpiflow:{name}")
            except SQLAlchemyError:
                conn.invalidate()  # the connection is gone; the server frees the lock with it
