"""Valid-looking network rows that once stopped every later pass (issue 11, cases 3 and 4):
timestamps past the documented range, byte counts whose sums overflow a BIGINT."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import quarantine_reasons
from tests.hostile import LAST_START_MS, NEAR_INT64_START_MS, PAST_RANGE_MS, run_network_pass

from . import reference
from .files import FIVE, HOUR, deliver, name, render, row
from .tables_read import read_kpis

T = 1_700_006_400_000
GOOD = render([row(T, 1, 10, 20, 3, 7)])


def test_timestamps_past_the_range_are_quarantined_and_reads_still_answer(
    tmp_path: Path, database_url: str
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    hostile = render([row(NEAR_INT64_START_MS, 1, 1, 1, 1, 1), row(PAST_RANGE_MS, 1, 1, 1, 1, 1),
                      row(LAST_START_MS + FIVE, 1, 1, 1, 1, 1), row(LAST_START_MS, 2, 5, 5, 2, 2),
                      row(T, 3, 1, 1, 3, 7)])
    deliver(data / "hostile.txt", hostile)
    deliver(data / name(T + FIVE, 1), GOOD)
    counts = run_network_pass(database_url, data, state)
    assert (counts["rows"], counts["bad_rows"], counts["kpis_failed"]) == (3, 3, 0)
    assert quarantine_reasons(database_url) == ["interval_start_timestamp is after 9999-12-31T22:55Z"] * 3
    assert read_kpis(database_url) == reference.kpis([hostile, GOOD], 10)
    again = run_network_pass(database_url, data, state)  # and the feed goes on
    assert again["files_unchanged"] == 2
    settings = Settings(database_url=database_url, data_dir=data, state_dir=state)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as client:
        for kpi in (1, 2):
            assert client.get(f"/api/KPIs/{kpi}/").status_code == 200
        assert client.get("/api/v1/network/extent/").status_code == 200
    top = CliRunner().invoke(cli_app, ["--database-url", database_url, "--data-dir", str(data),
                                       "network", "top", "--interval", "60"])
    assert top.exit_code == 0, top.output
    assert "Traceback" not in top.output


def test_a_byte_count_beyond_2_48_is_quarantined(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    deliver(data / "big.txt", render([row(T, 1, 2**62, 2**62 - 1, 3, 7), row(T, 1, 1, 2**48 + 1,
                                                                              3, 7)]))
    counts = run_network_pass(database_url, data, tmp_path / "state")
    assert (counts["rows"], counts["bad_rows"]) == (0, 2)
    assert quarantine_reasons(database_url) == [f"bytes_uplink exceeds 2^48 ({2**48})",
                                    f"bytes_downlink exceeds 2^48 ({2**48})"]


def test_a_kpi_sum_beyond_bigint_fails_alone_and_has_a_way_out(
    tmp_path: Path, database_url: str
) -> None:
    data, state = tmp_path / "data", tmp_path / "state"
    # 16,385 rows at the per-row bound: one service's 5-minute sum passes 2^63-1.
    big = render([row(T, m, 2**48, 2**48, 3, 7) for m in range(16_385)])
    other = render([row(T + HOUR, 1, 10, 20, 4, 8)])
    deliver(data / "big.txt", big)
    deliver(data / "other.txt", other)
    counts = run_network_pass(database_url, data, state)
    assert counts["kpis_failed"] == 2  # the 5-minute interval and its hour, one KPI each
    got = read_kpis(database_url)
    want = reference.kpis([big, other], 10)
    assert {k: v for k, v in got.items() if k[1] >= T + HOUR} == {
        k: v for k, v in want.items() if k[1] >= T + HOUR}
    assert ("service", T, 5) not in got  # no wrong figure is left standing
    assert got[("cell", T, 5)] == want[("cell", T, 5)]  # the other KPI of that interval counts
    assert run_network_pass(database_url, data, state)["kpis_failed"] == 2  # tried again
    fixed = render([row(T, m, 2**40, 2**40, 3, 7) for m in range(16_385)])
    deliver(data / "big.txt", fixed)  # the way out: corrected content at the same path
    counts = run_network_pass(database_url, data, state)
    assert counts["kpis_failed"] == 0
    assert read_kpis(database_url) == reference.kpis([fixed, other], 10)


def test_a_file_read_within_one_timestamp_tick_is_read_again(
    tmp_path: Path, database_url: str
) -> None:
    """On a 1-second-timestamp filesystem a same-size rewrite in that second keeps the stamp:
    the ledger records such a file as "check again", the next pass hashes it once more."""
    import time

    from kpiflow.store.tables import ledger

    data, state = tmp_path / "data", tmp_path / "state"
    data.mkdir()
    run_network_pass(database_url, data, state)  # schema made first: the next read is prompt
    path = data / name(T + FIVE, 1)
    deliver(path, GOOD)

    def recorded_ctime() -> int:
        engine = create_engine(database_url)
        with engine.connect() as conn:
            value = conn.scalar(select(ledger.c.ctime_ns))
        engine.dispose()
        return value

    run_network_pass(database_url, data, state)
    assert recorded_ctime() == -1  # changed within 2 s of its read: not trusted yet
    time.sleep(max(0.0, path.stat().st_ctime + 2.1 - time.time()))
    again = run_network_pass(database_url, data, state)
    assert (again["files_unchanged"], again["files_changed"]) == (1, 0)
    assert recorded_ctime() == path.stat().st_ctime_ns  # read again, now settled
    assert run_network_pass(database_url, data, state)["files_unchanged"] == 1
