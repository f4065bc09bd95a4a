"""No DATA_DIR entry can stop a pass: each hostile entry is recorded with its reason, and the
good files next to it are ingested (issue 11, cases 1 and 2 and unreadable files)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.ingest.discover import (
    NotRegularFile,
    ReadTimeout,
    discover,
    ledger_path,
    read_regular,
    read_within,
)
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from kpiflow.store.tables import ledger
from tests.hostile import (
    HOSTILE_ENTRIES,
    OUTSIDE_LINKS,
    network_pass_in_process,
    run_network_pass,
    write_lease,
)
from tests.packs.network import reference
from tests.packs.network.files import FIVE, deliver, name, render, row
from tests.packs.network.tables_read import read_kpis

T = 1_700_006_400_000


def _ledger(url: str) -> dict[str, tuple[str, str | None]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(ledger.c.path, ledger.c.status, ledger.c.error))
        got = {path: (status, error) for path, status, error in rows}
    engine.dispose()
    return got


def _hostile_dir(base: Path) -> tuple[Path, list[bytes]]:
    data = base / "data"
    data.mkdir(parents=True)
    for make, _, _ in HOSTILE_ENTRIES.values():
        make(data)
    for make in OUTSIDE_LINKS.values():
        make(data)
    good = [render([row(T, 1, 10, 20, 3, 7), row(T, 2, 5, 5, 3, 8)]),
            render([row(T + FIVE, 1, 1, 2, 4, 7)])]
    deliver(data / name(T + FIVE, 1), good[0])
    deliver(data / "sub" / name(T + 2 * FIVE, 1), good[1])
    return data, good


def test_one_pass_over_every_hostile_entry_ingests_the_good_files(
    tmp_path: Path, database_url: str
) -> None:
    data, good = _hostile_dir(tmp_path)
    state = tmp_path / "state"
    leased = data / name(T + 3 * FIVE, 1)
    leased.write_bytes(render([row(T + 2 * FIVE, 5, 1, 1, 5, 5)]))
    started = time.monotonic()
    with write_lease(leased):  # a blocking open would wait out the 45 s lease-break time
        counts = network_pass_in_process(database_url, data, state)
    assert time.monotonic() - started < 30
    bad = [k for k, (_, status, _) in HOSTILE_ENTRIES.items() if status == "rejected"]
    # The pair loop is two entries; the FIFO behind the link is a dot file, never listed.
    assert counts["files_new"] == 2
    assert counts["files_rejected"] == len(bad) + 1
    assert counts["files_unreadable"] == 2  # the file without read permission, the leased one
    assert read_kpis(database_url) == reference.kpis(good, 10)
    entries = _ledger(database_url)
    for label, (_, status, word) in HOSTILE_ENTRIES.items():
        assert any(s == status and word in (e or "") for s, e in entries.values()), label
    non_utf8 = "caf\\xe9-\\xff.txt"
    assert entries[non_utf8][0] == "rejected"
    long = [p for p in entries if p.startswith("d0")]
    assert len(long) == 1 and len(long[0]) <= 700 and "long.txt" in entries[long[0]][1]
    assert "zero.txt" not in entries  # a link out of DATA_DIR is not ours to read
    assert entries[leased.name] == ("unreadable", "cannot read: Resource temporarily unavailable")


def test_bad_entries_are_recorded_once_and_unreadable_files_retried(
    tmp_path: Path, database_url: str
) -> None:
    data, good = _hostile_dir(tmp_path)
    state = tmp_path / "state"
    network_pass_in_process(database_url, data, state)
    again = network_pass_in_process(database_url, data, state)
    assert (again["files_new"], again["files_unreadable"]) == (0, 1)  # tried again, still no
    # Once readable (and holding good rows), the file is ingested on the next pass.
    secret = data / "secret.txt"
    secret.chmod(0o644)
    more = render([row(T, 9, 100, 100, 3, 9)])
    secret.write_bytes(more)
    third = network_pass_in_process(database_url, data, state)
    assert (third["files_changed"], third["files_unreadable"]) == (1, 0)
    assert _ledger(database_url)["secret.txt"] == ("ingested", None)
    assert read_kpis(database_url) == reference.kpis([*good, more], 10)


def test_a_fifo_swapped_in_after_discovery_is_never_opened_blocking(tmp_path: Path) -> None:
    path = tmp_path / "late.txt"
    path.write_bytes(b"x\n")
    [found] = discover(tmp_path)
    path.unlink()
    os.mkfifo(path)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(_try_read(found.abspath)))
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(result[0], NotRegularFile) and "FIFO" in str(result[0])


def _try_read(path: Path) -> object:
    try:
        return read_regular(path)
    except OSError as exc:
        return exc


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_never_read(device: str) -> None:
    with pytest.raises(NotRegularFile, match="character device"):
        read_regular(Path(device))


def test_ledger_path_keeps_names_apart() -> None:
    long_a, long_b = "a" * 800, "a" * 799 + "b"
    assert ledger_path(long_a)[0] != ledger_path(long_b)[0]
    assert ledger_path(os.fsdecode(b"\xff.txt")) != ledger_path(os.fsdecode(b"\xfe.txt"))
    assert ledger_path("plain/name.txt") == ("plain/name.txt", None)


def test_a_hung_read_is_given_up_at_its_deadline_and_its_thread_ends_later(
    tmp_path: Path,
) -> None:
    # A read that blocks in the kernel, as on a hung NFS mount: a FIFO opened for reading and
    # writing, so no end of file ever comes while nothing is written.
    fifo = tmp_path / "hung"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDWR)
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match=r"not read within 0\.5 s"):
            read_within(reader, 0.5)
        assert 0.5 <= time.monotonic() - started < 5
        hung = [t for t in threading.enumerate() if t.name == "kpiflow-read"]
        assert len(hung) == 1 and hung[0].daemon  # never keeps the process from exiting
        os.write(writer, b"x")  # the storage answers at last: the abandoned read stops there
        hung[0].join(timeout=5)
        assert not hung[0].is_alive()
    finally:
        os.close(writer)
    with pytest.raises(OSError):
        os.fstat(reader)  # the abandoned read closed its descriptor


def test_a_read_past_its_deadline_is_unreadable_then_retried(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    rows = [row(T + FIVE * (i % 12), i, i, 1, i % 7, i % 5) for i in range(150_000)]
    big = render(rows)  # a few MB: never read within a microsecond
    deliver(data / name(T + FIVE, 1), big)
    monkeypatch.setenv("KPIFLOW_READ_TIMEOUT_SECONDS", "0.000001")
    first = run_network_pass(database_url, data, state)
    assert (first["files_unreadable"], first["files_new"]) == (1, 0)
    [(status, error)] = _ledger(database_url).values()
    assert status == "unreadable"
    assert error == ("cannot read: not read within 1e-06 s (slow or hung storage; "
                     "KPIFLOW_READ_TIMEOUT_SECONDS)")
    monkeypatch.delenv("KPIFLOW_READ_TIMEOUT_SECONDS")
    second = run_network_pass(database_url, data, state)
    assert (second["files_unreadable"], second["files_changed"]) == (0, 1)
    assert read_kpis(database_url) == reference.kpis([big], 10)


def test_a_leased_file_is_unreadable_while_leased_then_ingested(
    tmp_path: Path, database_url: str
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    good = render([row(T, 1, 10, 20, 3, 7)])
    deliver(data / name(T + FIVE, 1), good)
    with write_lease(data / name(T + FIVE, 1)):
        first = network_pass_in_process(database_url, data, state)
    assert first["files_unreadable"] == 1
    second = network_pass_in_process(database_url, data, state)
    assert (second["files_unreadable"], second["files_changed"]) == (0, 1)
    assert read_kpis(database_url) == reference.kpis([good], 10)


def test_unreadable_files_are_counted_in_the_summary_readyz_and_status(
    tmp_path: Path, database_url: str
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    deliver(data / name(T + FIVE, 1), render([row(T, 1, 10, 20, 3, 7)]))
    HOSTILE_ENTRIES["unreadable file"][0](data)
    assert network_pass_in_process(database_url, data, state)["files_unreadable"] == 1
    settings = Settings(database_url=database_url, data_dir=data, state_dir=state)
    runtime = Runtime.build(settings, discover_packs())
    try:
        with TestClient(create_app(runtime)) as client:
            ready = client.get("/readyz")
        assert ready.status_code == 200  # one unreadable file is no outage
        network = next(p for p in ready.json()["packs"] if p["pack"] == "network")
        assert (network["files_unreadable"], network["files"]) == (1, {"ingested": 1,
                                                                       "unreadable": 1})
    finally:
        runtime.close()
    flags = ["--database-url", database_url, "--data-dir", str(data), "--state-dir", str(state)]
    table = CliRunner().invoke(cli_app, [*flags, "status"])
    assert table.exit_code == 0 and "files unreadable" in table.output, table.output
    shown = CliRunner().invoke(cli_app, [*flags, "status", "--format", "json"])
    [body] = json.loads(shown.stdout)
    network = next(p for p in body["packs"] if p["pack"] == "network")
    assert network["files_unreadable"] == 1
