"""Hostile store ids and poll instants (issue 11, case 10), on every database: a bad row is
quarantined and the rest of its file loads; ids are compared as bound parameters."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from kpiflow.config import Settings
from kpiflow.packs.stores import load, retention
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import quarantine_reasons

HEADER = b"store_id,timestamp_utc,status\n"


def _load_bytes(db, body: bytes) -> load.FileResult:
    """Load one polls file as `kpiflow stores load` does (the load job through run_job)."""
    path = db.tmp / f"raw{db.count}.csv"
    db.count += 1
    path.write_bytes(HEADER + body)
    return db.load_files({"status": path}).files[0]


def test_nul_and_non_utf8_ids_are_quarantined_and_the_rest_loads(stores_any_db) -> None:
    db = stores_any_db
    result = _load_bytes(db, b"ok,2023-01-23 10:00:00,active\n"
                              b"a\x00b,2023-01-23 10:00:00,active\n"
                              b"s\xff,2023-01-23 10:00:00,active\n"
                              b"s\xfe,2023-01-23 10:00:00,inactive\n"
                              b"ok,2023-01-23 11:00:00,active\n")
    assert (result.rows, result.bad_rows) == (2, 3)
    assert quarantine_reasons(db.settings.database_url) == [
        "store_id: contains a NUL or bytes that are not UTF-8"] * 3
    assert set(db.report(now="2023-01-23T11:30:00Z")) == {"ok"}  # no merged "s\ufffd"


def test_polls_outside_the_range_are_quarantined_and_reports_still_run(stores_any_db) -> None:
    db = stores_any_db
    result = _load_bytes(db, b"s,9999-12-31 23:59:59,active\n"
                              b"s,0001-01-01 00:00:00,inactive\n"
                              b"s,2023-01-23 10:00:00,active\n")
    assert (result.rows, result.bad_rows) == (1, 2)
    assert quarantine_reasons(db.settings.database_url) == [
        "timestamp_utc: outside 1971-01-01 .. 9998-12-31"] * 2
    assert set(db.report()) == {"s"}  # the default "now" is the latest valid poll


def test_ids_with_percent_signs_are_found(stores_any_db) -> None:
    db = stores_any_db
    _load_bytes(db, b"50%,2023-01-23 10:00:00,active\n"
                    b"a%%b,2023-01-23 10:00:00,inactive\n"
                    b"x_y,2023-01-23 10:00:00,active\n")
    assert set(db.report(now="2023-01-23T10:30:00Z")) == {"50%", "a%%b", "x_y"}
    with TestClient(create_app(Runtime.build(db.settings, discover_packs()))) as client:
        for store_id in ("50%", "a%%b", "x_y"):
            r = client.get(f"/api/v1/stores/{quote(store_id, safe='')}/week",
                           params={"now": "2023-01-23T10:30:00Z"})
            assert r.status_code == 200, (store_id, r.text)
        assert client.get("/api/v1/stores/50/week").status_code == 404


def test_report_floods_are_rate_limited_and_old_reports_pruned(
    tmp_path, database_url, monkeypatch
) -> None:
    monkeypatch.setenv("KPIFLOW_STORES_REPORTS_KEPT", "3")
    monkeypatch.setenv("KPIFLOW_STORES_REPORT_RATE_PER_MINUTE", "5")
    settings = Settings(database_url=database_url, state_dir=tmp_path / "state")
    runtime = Runtime.build(settings, discover_packs())
    with TestClient(create_app(runtime)) as client:
        answers = [client.post("/trigger_report", params={"now": "2023-01-23T10:00:00Z"})
                   for _ in range(7)]
        assert [r.status_code for r in answers] == [200] * 5 + [429] * 2
        assert "KPIFLOW_STORES_REPORT_RATE_PER_MINUTE" in answers[-1].json()["detail"]
        for r in answers[:5]:  # wait until each report is written
            deadline = time.monotonic() + 30
            while not client.get("/get_report", params=r.json()).headers[
                    "content-type"].startswith("text/csv"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
    # SQLite: a lock file per report run beside the database; a server lock leaves none.
    locks = tmp_path / ".kpiflow.db.locks"
    sqlite = database_url.startswith("sqlite")
    assert len(list(locks.glob("stores-report-*.lock"))) == (5 if sqlite else 0)
    engine = create_engine(database_url)
    try:
        removed = retention.prune(engine, settings, StoresSettings(stores_reports_kept=3))
    finally:
        engine.dispose()
    assert removed == 2
    assert len(list((tmp_path / "state" / "stores" / "reports").glob("*.csv"))) == 3
    # The lock file each report run took beside the database goes with it.
    assert len(list(locks.glob("stores-report-*.lock"))) == (3 if sqlite else 0)
