"""Bad input never crashes a run: bad rows are quarantined with a reason, bad files rejected."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from kpiflow.store.tables import ledger, quarantine
from tests.helpers import make_settings, run_pack

from . import reference
from .files import FIVE, deliver, name, render, row
from .tables_read import read_kpis

T = 1_700_006_400_000
HEADER = ",".join(reference.REQUIRED)
GOOD = f"{T},{T + FIVE},1,10,20,3,7"

MIXED_LINES = [
    (GOOD, None),
    (f"{T},{T + FIVE},abc,10,20,3,7", "msisdn: not a 64-bit integer: 'abc'"),
    (f"{T},{T + FIVE},1,-5,20,3,7", "bytes_uplink is negative"),
    (f"{T},{T + FIVE},1,5,-20,3,7", "bytes_downlink is negative"),
    (f"{T},{T + FIVE},-1,5,20,3,7", "msisdn is negative"),
    (f"{T},{T + FIVE},1,5,20,3,-7", "cell_id is negative"),
    (f"{T},{T + FIVE},1,5,20,2147483648,7", "service_id is outside 0..2147483647"),
    (f"{T},{T + FIVE},1,5,20,3", "expected 7 fields, found 6"),
    (f"{T},{T + FIVE},1,5,20,3,7,8", "expected 7 fields, found 8"),
    (f"{T},{T + 60_000},1,5,20,3,7", "interval is not 5 minutes (end - start != 300000)"),
    (f"{T + 1000},{T + FIVE + 1000},1,5,20,3,7", "interval start is not aligned to 5 minutes"),
    (f"{T},{T + FIVE},1,9223372036854775808,20,3,7",
     "bytes_uplink: not a 64-bit integer: '9223372036854775808'"),
    (f"{T},{T + FIVE},1,9223372036854775807,1,3,7", "bytes_uplink + bytes_downlink exceeds 2^63-1"),
    (f"{T},{T + FIVE},1.5,5,20,3,7", "msisdn: not a 64-bit integer: '1.5'"),
    (f'{T},{T + FIVE},"1",5,20,3,7', "msisdn: not a 64-bit integer: '\"1\"'"),
    (f"{T},{T + FIVE},1,,20,3,7", "bytes_uplink: not a 64-bit integer: ''"),
    ("\x00\x01\x02,\xff", "expected 7 fields, found 2"),
    (f"{T},{T + FIVE},2, 30 ,40,3,8", None),  # blanks around a number are tolerated
]


def _query(url: str, stmt):
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    engine.dispose()
    return rows


def test_each_bad_row_is_quarantined_with_line_and_reason(tmp_path: Path, database_url: str) -> None:
    data_bytes = (HEADER + "\n" + "\n".join(line for line, _ in MIXED_LINES) + "\n").encode(
        "utf-8", "surrogateescape")
    data_bytes = data_bytes.replace("\xff".encode(), b"\xff")
    deliver(tmp_path / "data" / name(T + FIVE, 1), data_bytes)
    summary = run_pack(make_settings(tmp_path, database_url), "network")
    expected_bad = [(n, reason) for n, (_, reason) in enumerate(MIXED_LINES, start=2) if reason]
    assert (summary.rows, summary.bad_rows) == (2, len(expected_bad))
    got = _query(database_url, select(quarantine.c.line, quarantine.c.reason, quarantine.c.raw)
                 .order_by(quarantine.c.line))
    assert [(line, reason) for line, reason, _ in got] == expected_bad
    raws = {line: raw for line, _, raw in got}
    assert raws[2 + 16] == "\\x00\x01\x02,\\xff"  # NUL and invalid UTF-8 spelled out
    # The valid rows of the same file still count.
    assert read_kpis(database_url) == reference.kpis([data_bytes], 10)
    status = _query(database_url, select(ledger.c.status, ledger.c.rows, ledger.c.bad_rows))
    assert status == [("ingested", 2, len(expected_bad))]


def test_rejected_files_are_in_the_ledger_with_their_error(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    deliver(data / "empty.txt", b"")
    deliver(data / "binary.bin", b"\xff\xfe" + bytes(range(256)) * 40)
    deliver(data / "no-header.txt", (GOOD + "\n").encode())
    deliver(data / "wrong-columns.csv", b"a,b,c\n1,2,3\n")
    deliver(data / "header-only.txt", (HEADER + "\r\n").encode())
    deliver(data / name(T + FIVE, 1), render([row(T, 1, 1, 1, 1, 1)]))
    summary = run_pack(make_settings(tmp_path, database_url), "network")
    assert (summary.files_new, summary.files_rejected, summary.rows) == (6, 4, 1)
    got = dict((p, (s, e)) for p, s, e in _query(
        database_url, select(ledger.c.path, ledger.c.status, ledger.c.error)))
    assert got["empty.txt"] == ("rejected", "file is empty")
    assert got["binary.bin"][0] == "rejected" and "UTF-8" in got["binary.bin"][1]
    assert got["no-header.txt"][0] == "rejected" and "lacks required" in got["no-header.txt"][1]
    assert got["wrong-columns.csv"][0] == "rejected"
    assert got["header-only.txt"] == ("ingested", None)
    # A second pass has nothing new to do, and does not re-report the rejected files.
    again = run_pack(make_settings(tmp_path, database_url), "network")
    assert (again.files_unchanged, again.files_rejected) == (6, 0)


def test_good_content_replaced_by_garbage_withdraws_its_contribution(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "data" / name(T + FIVE, 1)
    deliver(path, render([row(T, 1, 1, 1, 1, 1)]))
    run_pack(make_settings(tmp_path, sqlite_url), "network")
    assert read_kpis(sqlite_url)
    deliver(path, b"\x89PNG\r\n\x1a\n" + bytes(1000))
    summary = run_pack(make_settings(tmp_path, sqlite_url), "network")
    assert (summary.files_changed, summary.files_rejected) == (1, 1)
    assert read_kpis(sqlite_url) == {}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bodies=st.lists(st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=200).map(lambda b: HEADER.encode() + b"\n" + b),
    st.text(max_size=200).map(lambda t: (HEADER + "\n" + t).encode("utf-16")),
    st.lists(st.sampled_from([GOOD, "1,2", "\x00", '"', ",,,,,,", GOOD + ",9"]), max_size=8)
    .map(lambda lines: (HEADER + "\n" + "\n".join(lines)).encode()),
), min_size=1, max_size=4))
def test_fuzzed_files_never_break_a_run(tmp_path_factory, bodies: list[bytes]) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    for i, body in enumerate(bodies):
        deliver(root / "data" / f"f{i}.txt", body)
    url = f"sqlite:///{root / 'k.db'}"
    summary = run_pack(make_settings(root, url), "network")
    assert summary.files_new == len(bodies)
    entries = _query(url, select(ledger.c.status, ledger.c.error, ledger.c.rows, ledger.c.bad_rows))
    assert len(entries) == len(bodies)
    assert all(error for status, error, _, _ in entries if status == "rejected")
    assert read_kpis(url) == reference.kpis(bodies, 10)
