"""The ledger's content identity: BLAKE3 for a new database, sha256 kept for one written by
the release before (issue 15). An old database keeps working: same files, no re-ingest,
identical tables, and a re-delivered old file is still recognised."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from blake3 import blake3
from sqlalchemy import create_engine, select, update

from kpiflow.ingest import ledger
from kpiflow.packs.network import tables as network_tables
from kpiflow.store.tables import ledger as ledger_table
from tests.helpers import make_settings, run_pack
from tests.packs.network.files import FIVE, deliver, name, render, row
from tests.packs.network.tables_read import read_kpis

START = 1_700_006_400_000


def _files(data: Path) -> dict[Path, bytes]:
    """Six part files over three intervals, with repeated users so distinct counts matter."""
    written = {}
    for i in range(6):
        rows = [row(START + (i // 2) * FIVE, m % 7, 10 * m + i, m, m % 3, (m + i) % 4)
                for m in range(20)]
        path = data / name(START + (i // 2 + 1) * FIVE, i)
        written[path] = render(rows)
        deliver(path, written[path])
    return written


def _ids(url: str) -> dict[str, str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {path: cid for path, cid in conn.execute(select(
            ledger_table.c.path, ledger_table.c.sha256).where(ledger_table.c.pack == "network"))}
    engine.dispose()
    return found


def _as_written_before(url: str, data: Path, state: Path) -> None:
    """Turn a database and state folder into what the release before wrote: every content
    named by the sha256 of its bytes (ledger, coverage table, state file names)."""
    engine = create_engine(url)
    ci = network_tables.content_intervals
    with engine.begin() as conn:
        for path, new in _ids(url).items():
            old = hashlib.sha256((data / path).read_bytes()).hexdigest()
            conn.execute(update(ledger_table).where(ledger_table.c.sha256 == new)
                         .values(sha256=old))
            conn.execute(update(ci).where(ci.c.sha256 == new).values(sha256=old))
            for kind in ("pairs", "bytes"):
                moved = state / "network" / old[:2] / f"{old}.{kind}.parquet"
                moved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(state / "network" / new[:2] / f"{new}.{kind}.parquet", moved)
    engine.dispose()


def test_ids_name_their_algorithm() -> None:
    data = b"interval_start_timestamp,...\n"
    assert ledger.content_id(data) == blake3(data).hexdigest(length=30)
    assert ledger.content_id(data, ledger.SHA256) == hashlib.sha256(data).hexdigest()
    for scheme in (ledger.BLAKE3, ledger.SHA256):
        cid = ledger.content_id(data, scheme)
        assert ledger.scheme_of(cid) == scheme
        assert ledger.matches(data, cid) and not ledger.matches(data + b"x", cid)


def test_a_new_database_identifies_contents_by_blake3(tmp_path: Path, sqlite_url: str) -> None:
    written = _files(tmp_path / "data")
    summary = run_pack(make_settings(tmp_path, sqlite_url), "network")
    assert summary.files_new == len(written)
    ids = _ids(sqlite_url)
    assert {p: ledger.content_id(b) for p, b in written.items()} == {
        tmp_path / "data" / p: cid for p, cid in ids.items()}


def test_a_database_written_by_the_release_before_keeps_working(
    tmp_path: Path, database_url: str,
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    written = _files(data)
    settings = make_settings(tmp_path, database_url)
    run_pack(settings, "network")
    before = read_kpis(database_url)
    _as_written_before(database_url, data, state)
    legacy = _ids(database_url)
    assert all(ledger.scheme_of(cid) == ledger.SHA256 for cid in legacy.values())

    again = run_pack(settings, "network")  # the new code over the same files
    assert (again.files_new, again.files_changed, again.files_unchanged) == (0, 0, len(written))
    assert again.intervals_updated == 0 and read_kpis(database_url) == before
    assert _ids(database_url) == legacy

    # Same bytes, new mtime: read, recognised by its sha256, not ingested again.
    first = next(iter(written))
    os.utime(first, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns + 10**9))
    # An old file re-delivered under another name: the same content, not counted twice.
    shutil.copy(first, data / name(START + 50 * FIVE, 9))
    later = run_pack(settings, "network")
    assert (later.files_new, later.files_changed) == (1, 0)
    assert read_kpis(database_url) == before
    ids = _ids(database_url)
    assert all(ledger.scheme_of(cid) == ledger.SHA256 for cid in ids.values())
    assert ids[name(START + 50 * FIVE, 9)] == legacy[first.name]
