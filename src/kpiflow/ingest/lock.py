"""One pass at a time per job and database, with a lock the server frees if its holder dies.

PostgreSQL: a session advisory lock; MariaDB/MySQL: GET_LOCK; SQLite: flock on a file beside
the database. All three are released by the operating system or the server when the holding
process exits, even on `kill -9`, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from kpiflow.errors import LockBusy

POLL_SECONDS = 0.2


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _try_server_lock(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "postgresql":
        stmt = text("SELECT pg_try_advisory_lock(:k)")
        return bool(conn.execute(stmt, {"k": _advisory_key(name)}).scalar())
    # MariaDB lock names are server-wide, PostgreSQL advisory keys per database: scope by database.
    database = conn.execute(text("SELECT DATABASE()")).scalar() or ""
    scoped = f"{name}:{database}"
    if len(scoped) > 64:
        scoped = f"{name[:40]}:{hashlib.blake2b(database.encode(), digest_size=8).hexdigest()}"
    return conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": scoped}).scalar() == 1


@contextmanager
def run_lock(engine: Engine, name: str, lock_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the lock `name` for the block; wait up to `timeout` seconds, then raise LockBusy."""
    deadline = time.monotonic() + timeout
    busy = LockBusy(f"another {name} pass is running on this database; try again later")
    if engine.dialect.name == "sqlite":
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{name}.lock", "w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise busy from None
                    time.sleep(POLL_SECONDS)
            try:
                yield
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
        try:
            yield
        finally:
            conn.invalidate()  # closing the session releases the lock on the server
