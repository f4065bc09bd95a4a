"""Engines from DATABASE_URL: what every process that opens the database relies on."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from kpiflow.store.db import make_engine, ping


def _open_and_ping(url: str, start: threading.Barrier) -> str:
    engine = make_engine(url)
    start.wait()
    try:
        ping(engine, url)
        with engine.connect() as conn:
            return str(conn.execute(text("PRAGMA journal_mode")).scalar_one())
    finally:
        engine.dispose()


def test_connections_opening_a_new_sqlite_file_at_once_all_get_in(tmp_path: Path) -> None:
    # Two passes started together on a fresh database once failed with "database is locked":
    # SQLite refuses a concurrent switch to WAL at once, without waiting out the busy timeout
    # (about one opening in twenty-five lost that race here).
    for round_ in range(60):
        url = f"sqlite:///{tmp_path / f'kpiflow-{round_}.db'}"
        start = threading.Barrier(6)
        with ThreadPoolExecutor(6) as pool:
            modes = list(pool.map(_open_and_ping, [url] * 6, [start] * 6))
        assert modes == ["wal"] * 6, (round_, modes)
