"""DESIGN.md invariant: after any sequence of runs, the KPI tables equal a from-scratch
computation over the current content of every file ever accepted (hypothesis)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpiflow.config import Settings
from tests.helpers import run_pack

from . import reference
from .files import FIVE, HOUR, deliver, name, render, row
from .tables_read import read_kpis

BASE = 1_700_006_400_000 - 2 * FIVE  # two intervals before an hour boundary

rows_st = st.lists(
    st.builds(
        lambda i, m, up, down, s, c: row(BASE + i * FIVE, m, up, down, s, c),
        st.integers(0, 4), st.integers(0, 6), st.integers(-1, 50), st.integers(0, 2**40),
        st.integers(0, 3), st.integers(0, 3),
    ),
    min_size=0, max_size=6,
)
slot_st = st.integers(0, 5)
event_st = st.one_of(
    st.tuples(st.just("deliver"), slot_st, rows_st),         # new file, late part or correction
    st.tuples(st.just("rewrite_in_place"), slot_st, rows_st),  # same path, mtime restored
    st.tuples(st.just("touch"), slot_st, st.none()),         # identical bytes, new mtime
    st.tuples(st.just("copy"), slot_st, st.none()),          # identical bytes at another path
    st.tuples(st.just("delete"), slot_st, st.none()),        # archived after ingestion
    st.tuples(st.just("garbage"), slot_st, st.none()),       # replaced by something unreadable
    st.tuples(st.just("run"), st.none(), st.none()),
)


def _path(data: Path, slot: int) -> Path:
    return data / f"d{slot % 2}" / name(BASE + FIVE * (slot + 1), slot)


def _apply(data: Path, event: tuple, on_disk: dict[Path, bytes]) -> None:
    kind, slot, rows = event
    if kind == "run":
        return
    path = _path(data, slot)
    if kind == "deliver":
        on_disk[path] = render(rows, crlf=bool(slot % 2))
        deliver(path, on_disk[path])
    elif kind == "rewrite_in_place":
        old = path.stat() if path.exists() else None
        on_disk[path] = render(rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(on_disk[path])
        if old is not None:
            os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    elif path.exists() and kind == "touch":
        os.utime(path, ns=(time.time_ns(), time.time_ns()))
    elif path.exists() and kind == "copy":
        twin = data / "copies" / f"{path.name}.{len(on_disk)}"
        on_disk[twin] = on_disk[path]
        deliver(twin, on_disk[twin])
    elif path.exists() and kind == "delete":
        path.unlink()
        del on_disk[path]
    elif kind == "garbage":
        on_disk[path] = b"\x00\xff\xfe garbage \x00" * 3
        deliver(path, on_disk[path])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(event_st, min_size=1, max_size=14))
def test_incremental_equals_from_scratch(events: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        url = f"sqlite:///{root / 'kpiflow.db'}"
        settings_ = Settings(database_url=url, data_dir=data, state_dir=root / "state")
        net = {"top_n": 2}
        on_disk: dict[Path, bytes] = {}
        accepted: dict[Path, bytes] = {}
        for event in [*events, ("run", None, None)]:
            _apply(data, event, on_disk)
            if event[0] != "run":
                continue
            run_pack(settings_, "network", **net)
            accepted.update(on_disk)
            assert read_kpis(url) == reference.kpis(accepted.values(), 2)
        # A from-scratch run over what is on disk now, with a fresh database and state, gives
        # the same tables when nothing was deleted.
        if set(accepted) == set(on_disk):
            fresh = f"sqlite:///{root / 'fresh.db'}"
            run_pack(Settings(database_url=fresh, data_dir=data, state_dir=root / "fresh-state"),
                     "network", **net)
            assert read_kpis(fresh) == read_kpis(url)


def test_late_corrected_and_deleted_files_on_every_database(
    tmp_path: Path, database_url: str
) -> None:
    """A fixed sequence of the same events, on SQLite, PostgreSQL and MariaDB."""
    data = tmp_path / "data"
    settings_ = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state")
    net = {"top_n": 2}
    first = data / name(BASE + FIVE, 1)
    deliver(first, render([row(BASE, 1, 10, 10, 1, 1), row(BASE, 2, 5, 5, 2, 1)]))
    run_pack(settings_, "network", **net)
    late = data / "late" / name(BASE + FIVE, 2)  # a late part for the same interval
    deliver(late, render([row(BASE, 3, 100, 0, 2, 2), row(BASE + 2 * FIVE, 1, 1, 1, 1, 1)]))
    summary = run_pack(settings_, "network", **net)
    assert (summary.files_new, summary.intervals_updated, summary.hours_updated) == (1, 2, 2)
    deliver(first, render([row(BASE, 1, 7, 7, 3, 3)]))  # corrected content, same path
    summary = run_pack(settings_, "network", **net)
    assert summary.files_changed == 1
    expected_contents = [first.read_bytes(), late.read_bytes()]
    late.unlink()  # archived: its contribution stays
    summary = run_pack(settings_, "network", **net)
    assert summary.files_new + summary.files_changed == 0 and summary.intervals_updated == 0
    assert read_kpis(database_url) == reference.kpis(expected_contents, 2)
    assert run_pack(settings_, "network", **net).files_unchanged == 1
    assert read_kpis(database_url) == reference.kpis(expected_contents, 2)


def test_hour_boundary_end_0900_belongs_to_0800(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    last = BASE + 2 * FIVE - FIVE  # the interval ending at the hour boundary
    deliver(data / name(last + FIVE, 1), render([row(last, 1, 1, 1, 1, 1)]))
    run_pack(Settings(database_url=sqlite_url, data_dir=data, state_dir=tmp_path / "s"),
             "network")
    got = read_kpis(sqlite_url)
    hour = (last + FIVE) - HOUR
    assert set(got) == {("service", last, 5), ("cell", last, 5),
                        ("service", hour, 60), ("cell", hour, 60)}
