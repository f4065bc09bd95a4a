"""No DATA_DIR entry can stop a pass: each hostile entry is recorded with its reason, and the
good files next to it are ingested (issue 11, cases 1 and 2 and unreadable files)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kpiflow.ingest.discover import NotRegularFile, discover, ledger_path, read_regular
from kpiflow.store.tables import ledger
from tests.hostile import HOSTILE_ENTRIES, OUTSIDE_LINKS, network_pass_in_process
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
    counts = network_pass_in_process(database_url, data, state)
    bad = [k for k, (_, status, _) in HOSTILE_ENTRIES.items() if status == "rejected"]
    # The pair loop is two entries; the FIFO behind the link is a dot file, never listed.
    assert counts["files_new"] == 2
    assert counts["files_rejected"] == len(bad) + 1
    assert counts["files_unreadable"] == 1
    assert read_kpis(database_url) == reference.kpis(good, 10)
    entries = _ledger(database_url)
    for label, (_, status, word) in HOSTILE_ENTRIES.items():
        assert any(s == status and word in (e or "") for s, e in entries.values()), label
    non_utf8 = "caf\\xe9-\\xff.txt"
    assert entries[non_utf8][0] == "rejected"
    long = [p for p in entries if p.startswith("d0")]
    assert len(long) == 1 and len(long[0]) <= 700 and "long.txt" in entries[long[0]][1]
    assert "zero.txt" not in entries  # a link out of DATA_DIR is not ours to read


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
