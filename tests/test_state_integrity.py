"""Damaged state, shared state folders and the SQLite lock (issue 11, cases 6, 7, 8, 11).

State files are checked against the checksum in their own metadata; a bad one fails only
the KPIs it feeds, with a StateError naming the content; `kpiflow network state check` finds
it and `... state repair` rebuilds it from the sources still present.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from kpiflow.cli import app
from kpiflow.config import Settings
from kpiflow.errors import LockBusy, StateError
from kpiflow.packs.network import statecheck
from kpiflow.state import CHECKSUM_KEY, VERIFIED_FILE, StateStore
from kpiflow.store.lock import run_lock
from tests.conftest import create_database, drop_database
from tests.hostile import run_network_pass
from tests.packs.network import reference
from tests.packs.network.files import FIVE, HOUR, deliver, name, render, row
from tests.packs.network.tables_read import read_kpis

T = 1_700_006_400_000
A = render([row(T, 1, 10, 20, 3, 7), row(T, 2, 1, 1, 4, 8)])
B = render([row(T + HOUR, 5, 7, 7, 3, 9)])


def _setup(tmp_path: Path, url: str) -> tuple[Path, Path, StateStore]:
    data, state = tmp_path / "data", tmp_path / "state"
    deliver(data / name(T + FIVE, 1), A)
    deliver(data / name(T + HOUR + FIVE, 1), B)
    time.sleep(2.1)  # past one timestamp tick: the pass trusts the stamps and reads them once
    run_network_pass(url, data, state)
    return data, state, StateStore(state, "network")


def _sha(data: bytes) -> str:
    from kpiflow.ingest.ledger import content_id

    return content_id(data)  # the id a new database gives a content (BLAKE3)


def _cli(url: str, data: Path, state: Path, *args: str):
    return CliRunner().invoke(app, ["--database-url", url, "--data-dir", str(data),
                                    "--state-dir", str(state), "network", "state", *args])


def test_damaged_state_fails_alone_and_repair_rebuilds_it(tmp_path: Path, database_url: str) -> None:
    data, state, store = _setup(tmp_path, database_url)
    pairs = store.path(_sha(A), "pairs")
    pairs.write_bytes(pairs.read_bytes()[:40])  # truncated
    store.path(_sha(B), "bytes").unlink()  # deleted
    assert _cli(database_url, data, state, "check").exit_code == 1
    checked = _cli(database_url, data, state, "check")
    assert _sha(A)[:16] in checked.output and "damaged" in checked.output
    assert "missing" in checked.output and "2 content(s)" in checked.output
    # New data in both hours: the damaged contents' KPIs fail, alone, and say why.
    late_a = render([row(T + FIVE, 3, 1, 1, 3, 7)])
    deliver(data / name(T + 2 * FIVE, 1), late_a)
    with pytest.raises(StateError, match=_sha(A)):
        store.verify(_sha(A), ("pairs",))
    counts = run_network_pass(database_url, data, state)
    assert counts["kpis_failed"] > 0 and counts["files_new"] == 1
    repaired = _cli(database_url, data, state, "repair")
    assert repaired.exit_code == 0, repaired.output
    assert "rebuilt" in repaired.output
    assert _cli(database_url, data, state, "check").exit_code == 0
    counts = run_network_pass(database_url, data, state)
    assert counts["kpis_failed"] == 0
    assert read_kpis(database_url) == reference.kpis([A, B, late_a], 10)


def test_repair_names_the_hours_whose_sources_are_gone(tmp_path: Path, database_url: str) -> None:
    data, state, store = _setup(tmp_path, database_url)
    (data / name(T + HOUR + FIVE, 1)).unlink()  # archived: still counts, from its state
    store.path(_sha(B), "pairs").unlink()
    repaired = _cli(database_url, data, state, "repair")
    assert repaired.exit_code == 1
    assert "1 hour(s) cannot be recomputed" in repaired.output
    assert "2023-11-15T01:00Z" in repaired.output  # the hour of T + HOUR


def test_re_reading_a_source_rebuilds_its_lost_state(tmp_path: Path, database_url: str) -> None:
    data, state, store = _setup(tmp_path, database_url)
    store.path(_sha(A), "pairs").unlink()
    deliver(data / name(T + FIVE, 1), A)  # same bytes again (new inode): read, state rebuilt
    run_network_pass(database_url, data, state)
    assert store.intact(_sha(A), ("pairs", "bytes"))
    assert read_kpis(database_url) == reference.kpis([A, B], 10)


def test_every_bit_flip_is_caught_or_changes_no_data(
    tmp_path: Path, database_url: str
) -> None:
    _, _, store = _setup(tmp_path, database_url)
    path = store.path(_sha(A), "pairs")
    original, frame = path.read_bytes(), pl.read_parquet(path)
    rng = random.Random(11)
    caught = 0
    for _ in range(40):
        damaged = bytearray(original)
        spot = rng.randrange(len(damaged))
        damaged[spot] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        problem = StateStore(store.root.parent, "network").problem(_sha(A), "pairs")
        if problem is None:  # a flip in padding or statistics: the data must be intact
            assert pl.read_parquet(path).equals(frame)
        else:
            caught += 1
    assert caught > 0


def test_a_state_folder_of_another_database_is_refused(tmp_path: Path, database_url: str) -> None:
    data, state, _ = _setup(tmp_path, database_url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(StateError, match="belongs to another database"):
        run_network_pass(other, data, state)
    # The first database's state is untouched: its next pass is whole.
    assert run_network_pass(database_url, data, state)["kpis_failed"] == 0
    assert read_kpis(database_url) == reference.kpis([A, B], 10)


def test_the_lock_belongs_to_the_database_not_the_state_folder(
    tmp_path: Path, database_url: str
) -> None:
    # Case 8: on SQLite the lock file lived in the state folder; now it is beside the database
    # file, as the server databases' locks always belonged to the database.
    engine = create_engine(database_url)
    try:
        with (run_lock(engine, "network", tmp_path / "state-a"), pytest.raises(LockBusy),
              run_lock(engine, "network", tmp_path / "state-b")):
            pass
    finally:
        engine.dispose()


def test_temporaries_left_by_a_kill_are_removed_at_pass_start(
    tmp_path: Path, database_url: str
) -> None:
    data, state, store = _setup(tmp_path, database_url)
    leftover = store.root / "ab" / ".ab12.pairs.parquet.123.456.tmp"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half")
    run_network_pass(database_url, data, state)
    assert not leftover.exists()


def _check(url: str, state: Path) -> statecheck.StateReport:
    engine = create_engine(url)
    try:
        return statecheck.check(engine, StateStore(state, "network"))
    finally:
        engine.dispose()


def _strip_checksum(path: Path) -> None:
    """Rewrite a state file as kpiflow wrote it before checksums existed: same data, no sum."""
    pl.read_parquet(path).write_parquet(path, compression="zstd")


def test_state_without_a_checksum_is_unverifiable_and_repair_rebuilds_it(
    tmp_path: Path, database_url: str
) -> None:
    data, state, store = _setup(tmp_path, database_url)
    _strip_checksum(store.path(_sha(A), "pairs"))
    _strip_checksum(store.path(_sha(B), "bytes"))
    (data / name(T + HOUR + FIVE, 1)).unlink()  # B's source is gone: it cannot be rebuilt
    checked = _cli(database_url, data, state, "check")
    assert checked.exit_code == 1, checked.output
    assert "2 content(s) with damaged, missing or unverifiable state" in checked.output
    report = _check(database_url, state)
    assert sorted(d.sha256 for d in report.damaged) == sorted([_sha(A), _sha(B)])
    assert all(d.unverifiable and "it has no checksum" in d.problems[0] for d in report.damaged)
    assert run_network_pass(database_url, data, state)["kpis_failed"] == 0  # passes still use it
    repaired = _cli(database_url, data, state, "repair")
    assert repaired.exit_code == 0, repaired.output
    assert "1 unverifiable content(s) have no source left: kept" in repaired.output
    assert pl.read_parquet_metadata(store.path(_sha(A), "pairs")).get("kpiflow.sha256")
    assert [d.sha256 for d in _check(database_url, state).damaged] == [_sha(B)]  # A rebuilt
    run_network_pass(database_url, data, state)
    assert read_kpis(database_url) == reference.kpis([A, B], 10)


def test_two_server_databases_run_from_one_folder_keep_their_state_apart(
    tmp_path: Path, server_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Case 7: the default state folder of a server database is named after the database.
    kind = "postgresql" if server_database_url.startswith("postgresql") else "mariadb"
    other = create_database(kind)
    try:
        monkeypatch.chdir(tmp_path)
        data = tmp_path / "data"
        deliver(data / name(T + FIVE, 1), A)
        for url in (server_database_url, other):
            assert run_network_pass(url, data, None)["files_new"] == 1
        deliver(data / name(T + HOUR + FIVE, 1), B)
        for url in (server_database_url, other):  # each prunes and recomputes on its own
            assert run_network_pass(url, data, None)["kpis_failed"] == 0
            assert read_kpis(url) == reference.kpis([A, B], 10)
        folders = sorted(p.name for p in (tmp_path / ".kpiflow").iterdir())
        assert folders == sorted(f"db-{u.split('+')[0].replace('mariadb', 'mysql')}-127.0.0.1-"
                                 f"{u.split(':')[-1].split('/')[0]}-{u.rsplit('/', 1)[1]}"
                                 for u in (server_database_url, other))
    finally:
        drop_database(other)


def test_an_older_default_state_folder_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql+psycopg://u@db.example:5432/kpi"
    assert Settings(database_url=url).resolved_state_dir == (
        tmp_path / ".kpiflow" / "db-postgresql-db.example-5432-kpi")
    (tmp_path / ".kpiflow" / "network").mkdir(parents=True)  # the older layout: kept
    assert Settings(database_url=url).resolved_state_dir == tmp_path / ".kpiflow"


def test_a_verdict_holds_while_the_file_is_untouched_and_any_write_revokes_it(
    tmp_path: Path
) -> None:
    writer = StateStore(tmp_path / "state", "network")
    frame = pl.DataFrame({"interval_start_timestamp": [T, T + FIVE], "msisdn": [3, 4]})
    sha = "ab" * 32
    writer.write(sha, "pairs", frame)
    path = writer.path(sha, "pairs")
    assert pl.read_parquet(path).equals(frame)
    # Written with the checksum of the frame itself: listed as verified for later passes.
    listed = (writer.root / VERIFIED_FILE).read_text().split()
    assert listed[:2] == [path.name, str(path.stat().st_size)]
    assert StateStore(tmp_path / "state", "network").problem(sha, "pairs") is None

    # Forged (other data under the original checksum, same size, modification time set back):
    # the change time moved, so every store, the writer's too, verifies it again and refuses it.
    stat, checksum = path.stat(), pl.read_parquet_metadata(path)[CHECKSUM_KEY]
    time.sleep(0.01)
    frame.with_columns(pl.Series("msisdn", [3, 5])).write_parquet(
        path, compression="zstd", compression_level=1, statistics=True,
        metadata={CHECKSUM_KEY: checksum})
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    for store in (writer, StateStore(tmp_path / "state", "network")):
        problem = store.problem(sha, "pairs")
        assert problem is not None and "checksum does not match" in problem

    # A damaged list costs only a verification: the file is read and judged again.
    (writer.root / VERIFIED_FILE).write_bytes(b"\xff\xfe garbage")
    writer.write(sha, "pairs", frame)
    assert StateStore(tmp_path / "state", "network").problem(sha, "pairs") is None


def test_prune_forgets_the_verdicts_of_files_it_removed(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state", "network")
    frame = pl.DataFrame({"interval_start_timestamp": [T], "msisdn": [3]})
    shas = [f"{i:064x}" for i in range(70)]
    for sha in shas:
        store.write(sha, "pairs", frame)
    assert len((store.root / VERIFIED_FILE).read_text().splitlines()) == 70
    assert store.prune(set(shas[:2])) == 68
    kept = (store.root / VERIFIED_FILE).read_text().splitlines()
    assert sorted(line.split()[0] for line in kept) == sorted(
        store.path(sha, "pairs").name for sha in shas[:2])
    fresh = StateStore(tmp_path / "state", "network")
    assert all(fresh.problem(sha, "pairs") is None for sha in shas[:2])
    assert "missing" in (fresh.problem(shas[5], "pairs") or "")
