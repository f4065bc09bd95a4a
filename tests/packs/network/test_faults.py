"""Faults injected for real: the database dropping connections mid-run, an unwritable state
directory, a file still being written. Nothing half-done is ever visible; the next pass converges."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from kpiflow.config import Settings
from kpiflow.errors import StateError
from kpiflow.packs.network import generate
from kpiflow.store.tables import ledger
from tests.helpers import KPIFLOW, free_port, migrate, run_pack
from tests.packs.network import reference
from tests.packs.network.files import FIVE, deliver, name, render, row
from tests.packs.network.tables_read import read_kpis


def _kill_connections(admin_url: str, url: str) -> int:
    """Drop every connection to the database of `url` from the server side."""
    database = url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    killed = 0
    with engine.connect() as conn:
        if url.startswith("postgresql"):
            killed = len(conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database}).all())
        else:
            ids = conn.scalars(text(
                "SELECT id FROM information_schema.processlist WHERE db = :d "
                "AND id <> CONNECTION_ID()"), {"d": database}).all()
            for ident in ids:
                try:
                    conn.execute(text(f"KILL CONNECTION {int(ident)}"))
                    killed += 1
                except OperationalError as exc:  # 1094: it ended between the list and the kill
                    if "1094" not in str(exc.orig):
                        raise
    engine.dispose()
    return killed


@pytest.mark.xdist_group("processes")
def test_database_dropping_connections_mid_run(tmp_path: Path, server_database_url: str) -> None:
    url = server_database_url
    admin = url.rsplit("/", 1)[0] + ("/postgres" if url.startswith("postgresql") else "/")
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 2, 1, tzinfo=UTC), 4, 60_000, 2, seed=4)
    env, proc = _pass_under_way(url, data, tmp_path / "state")
    try:
        while proc.poll() is None:
            _kill_connections(admin, url)
            time.sleep(0.2)
    finally:  # a failing kill must not leave the pass running into the next test
        if proc.poll() is None:
            proc.kill()
    _failed_with_one_line(proc)
    _committed_whole_then_converges(url, env, data)


def _pass_under_way(
    url: str, data: Path, state: Path
) -> tuple[dict[str, str], subprocess.Popen[bytes]]:
    """A `network run` process on a migrated database, returned once it is mid-run."""
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data),
           "KPIFLOW_STATE_DIR": str(state), "KPIFLOW_TOP_N": "5"}
    subprocess.run([str(KPIFLOW), "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([str(KPIFLOW), "network", "run"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_until_ingesting(url, proc)
    return env, proc


def _wait_until_ingesting(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Return once the pass has recorded its first file: it is mid-run, with most to do."""
    engine = create_engine(url)
    try:
        while proc.poll() is None:
            with engine.connect() as conn:
                if conn.execute(select(func.count()).select_from(ledger)).scalar_one():
                    return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the pass ended before it recorded a file")


def _failed_with_one_line(proc: subprocess.Popen[bytes]) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out.decode() + err.decode()
    errors = [line for line in err.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "database" in errors[0], err.decode()


def _committed_whole_then_converges(url: str, env: dict[str, str], data: Path) -> None:
    expected = reference.kpis([p.read_bytes() for p in data.rglob("*.txt")], 5)
    for key, ranks in read_kpis(url).items():  # whatever was committed is whole and right
        assert ranks == expected[key], key
    again = subprocess.run([str(KPIFLOW), "network", "run"], env=env, capture_output=True)
    assert again.returncode == 0, again.stderr.decode()
    assert read_kpis(url) == expected


@pytest.mark.parametrize("where", ["under /proc", "under a file"])
def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path, sqlite_url: str,
                                               where: str) -> None:
    data = tmp_path / "data"
    deliver(data / name(FIVE, 1), render([row(0, 1, 1, 1, 1, 1)]))
    (tmp_path / "a-file").write_text("x")
    state = Path("/proc/kpiflow-state") if where == "under /proc" else tmp_path / "a-file" / "s"
    migrate(Settings(database_url=sqlite_url, state_dir=tmp_path / "locks"))
    settings = Settings(database_url=sqlite_url, data_dir=data, state_dir=state)
    with pytest.raises(StateError, match="cannot"):
        run_pack(settings, "network")
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert list(conn.execute(select(ledger.c.path))) == []  # nothing recorded half
    engine.dispose()
    fixed = Settings(database_url=sqlite_url, data_dir=data, state_dir=tmp_path / "state")
    assert run_pack(fixed, "network").files_new == 1


def test_state_dir_error_through_the_cli(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "data").mkdir()
    result = subprocess.run(
        [str(KPIFLOW), "--database-url", sqlite_url, "--data-dir", str(tmp_path / "data"),
         "--state-dir", "/proc/kpiflow-state", "network", "run"], capture_output=True)
    assert result.returncode == 1
    assert result.stderr.decode().strip().startswith("error: cannot")
    assert result.stderr.decode().strip().count("\n") == 0


def test_file_still_being_written_is_taken_whole_later(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    path = data / name(FIVE, 1)
    deliver(path, render([row(0, 1, 1, 1, 1, 1)]))
    stop = threading.Event()

    def writer() -> None:
        with open(path, "a") as handle:
            i = 2
            while not stop.is_set():
                handle.write(f"0,{FIVE},{i},1,1,1,{i % 3}\n")
                handle.flush()
                i += 1
                time.sleep(0.001)

    settings = Settings(database_url=sqlite_url, data_dir=data, state_dir=tmp_path / "state")
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        summary = run_pack(settings, "network", network_settle_seconds=30)
    finally:
        stop.set()
        thread.join()
    assert (summary.files_waiting, summary.files_new) == (1, 0)
    assert read_kpis(sqlite_url) == {}
    old = time.time() - 60  # the writer is done: the file has settled
    os.utime(path, (old, old))
    summary = run_pack(settings, "network", network_settle_seconds=30)
    assert summary.files_new == 1
    assert read_kpis(sqlite_url) == reference.kpis([path.read_bytes()], 10)


@contextmanager
def _tiny_filesystem(path: Path, free_bytes: int) -> Iterator[Path]:
    """A tmpfs mounted at `path` with about `free_bytes` left: a really full disk."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {mounted.stderr.decode().strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        filler = path / "filler"
        filler.write_bytes(b"\0" * (1024 * 1024 - free_bytes - 64 * 1024))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_is_a_clear_error_and_nothing_is_half_written(tmp_path: Path,
                                                               sqlite_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 2, 1, tzinfo=UTC), 1, 20_000, 2, seed=6)
    migrate(Settings(database_url=sqlite_url, state_dir=tmp_path / "locks"))
    with _tiny_filesystem(tmp_path / "full", free_bytes=16 * 1024) as full:
        settings = Settings(database_url=sqlite_url, data_dir=data, state_dir=full / "state")
        with pytest.raises(StateError, match="No space left on device"):
            run_pack(settings, "network")
        # No temp file is left behind, and no file recorded without its state.
        assert not list((full / "state").rglob("*.tmp"))
        engine = create_engine(sqlite_url)
        with engine.connect() as conn:
            recorded = list(conn.scalars(select(ledger.c.sha256)))
        engine.dispose()
        state = Settings(database_url=sqlite_url, data_dir=data, state_dir=full / "state")
        for sha in recorded:
            assert (state.resolved_state_dir / "network" / sha[:2] / f"{sha}.pairs.parquet").exists()
        # Space comes back: the next pass converges.
        (full / "filler").unlink()
        run_pack(settings, "network", top_n=10)
    assert read_kpis(sqlite_url) == reference.kpis([p.read_bytes() for p in data.rglob("*.txt")], 10)


@contextmanager
def _private_postgres() -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A PostgreSQL server of the test's own (so stopping it disturbs no one): URL, stop, start."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins or os.geteuid() != 0:
        message = "a private PostgreSQL needs the server binaries and root (for runuser)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Outside pytest's tmp folders, which the postgres user may not enter.
    root = Path(tempfile.mkdtemp(prefix="kpiflow-pg-"))
    root.chmod(0o755)
    pgdata, port = root / "pgdata", free_port()
    pgdata.mkdir()
    shutil.chown(pgdata, "postgres", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bins[-1] / "initdb"), "-D", str(pgdata), "-A", "trust",
                    "-U", "postgres"], check=True, capture_output=True)
    ctl = [*as_postgres, str(bins[-1] / "pg_ctl"), "-D", str(pgdata), "-w", "-l",
           str(pgdata / "log")]

    def start() -> None:
        subprocess.run([*ctl, "-o", f"-p {port} -k {pgdata} -c listen_addresses=127.0.0.1",
                        "start"], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)

    try:
        start()
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop, start
    finally:
        stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.xdist_group("processes")
def test_database_server_stopped_mid_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 2, 1, tzinfo=UTC), 4, 60_000, 2, seed=5)
    with _private_postgres() as (url, stop, start):
        env, proc = _pass_under_way(url, data, tmp_path / "state")
        stop()
        _failed_with_one_line(proc)
        down = subprocess.run([str(KPIFLOW), "network", "run"], env=env, capture_output=True)
        assert down.returncode == 1 and "cannot reach database" in down.stderr.decode()
        start()
        _committed_whole_then_converges(url, env, data)
