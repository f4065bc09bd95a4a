"""The seed's API end to end on real databases: trigger, poll, CSV; recovery; the hourly job."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from kpiflow.packs.stores import jobs
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.packs.stores.tables import reports
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from kpiflow.store.db import make_engine
from kpiflow.store.lock import run_lock
from tests.helpers import run_pack

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,"
          "downtime_last_day,downtime_last_week")


def _example(db) -> None:
    db.load(hours="store_id,dayOfWeek,start_time_local,end_time_local\ns1,0,09:00:00,12:00:00\n",
            timezones="store_id,timezone_str\ns1,America/New_York\n",
            status="store_id,timestamp_utc,status\ns1,2023-01-23 15:14:00 UTC,active\n"
                   "s1,2023-01-23 16:15:00 UTC,inactive\ns2,2023-01-23 17:00:00 UTC,active\n")


def _client(db, **stores: object) -> TestClient:
    runtime = Runtime.build(db.settings, discover_packs(), stores=StoresSettings(**stores))
    return TestClient(create_app(runtime))


def _wait(client: TestClient, report_id: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        response = client.get("/get_report", params={"report_id": report_id})
        if response.headers["content-type"].startswith("text/csv") or (
                response.json()["status"] != "Running") or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_trigger_then_get_the_csv(stores_any_db) -> None:
    _example(stores_any_db)
    with _client(stores_any_db) as client:
        started = client.post("/trigger_report")
        assert started.status_code == 200 and set(started.json()) == {"report_id"}
        done = _wait(client, started.json()["report_id"])
        assert done.status_code == 200
        assert done.headers["content-type"].startswith("text/csv")
        assert done.headers["x-report-status"] == "Complete"
        lines = done.text.splitlines()
        assert lines[0] == HEADER
        # now = latest poll = 17:00 UTC = 12:00 New York: the statement's example.
        assert lines[1] == "s1,15.00,2.25,2.25,45.00,0.75,0.75"
        assert lines[2].startswith("s2,") and len(lines) == 3


def test_trigger_with_options_and_bad_input(stores_db) -> None:
    _example(stores_db)
    with _client(stores_db) as client:
        rid = client.post("/trigger_report", params={
            "now": "2023-01-23T17:00:00Z", "max_hold": "30m"}).json()["report_id"]
        text = _wait(client, rid).text.splitlines()
        assert text[0].endswith("business_last_week,unknown_last_hour,unknown_last_day,"
                                "unknown_last_week")
        assert client.post("/trigger_report", params={"now": "yesterday"}).status_code == 422
        assert client.post("/trigger_report", params={"max_hold": "soon"}).status_code == 422
        assert client.post("/trigger_report", params={"colour": "red"}).status_code == 422


def test_unknown_report_is_404(stores_any_db) -> None:
    with _client(stores_any_db) as client:
        assert client.get("/get_report", params={"report_id": "nope"}).status_code == 404
        assert client.get("/get_report").status_code == 422


def test_running_while_a_live_worker_holds_it_then_recovered_after_a_restart(
        stores_any_db) -> None:
    """A Running row left by a dead server is re-run; one a live worker holds is left alone."""
    _example(stores_any_db)
    settings = stores_any_db.settings
    engine = make_engine(settings.database_url)
    report_id = jobs.create_run(engine, jobs.ReportOptions())
    with _client(stores_any_db) as client:
        # Another process is computing it: its lock is held, so we only report progress.
        with run_lock(engine, f"stores-report-{report_id}", settings.resolved_state_dir):
            for _ in range(3):
                response = client.get("/get_report", params={"report_id": report_id})
                assert response.json() == {"status": "Running", "stores_done": 0,
                                           "stores_total": 0, "error": None}
                time.sleep(0.05)
        # That process died (its lock is free): the next poll re-runs the report.
        done = _wait(client, report_id)
        assert done.headers["x-report-status"] == "Complete"
        assert done.text.splitlines()[1] == "s1,15.00,2.25,2.25,45.00,0.75,0.75"
    engine.dispose()


def test_report_interrupted_too_often_is_marked_failed(stores_db) -> None:
    _example(stores_db)
    engine = make_engine(stores_db.settings.database_url)
    report_id = jobs.create_run(engine, jobs.ReportOptions())
    with engine.begin() as conn:
        conn.execute(update(reports).where(reports.c.report_id == report_id)
                     .values(attempts=jobs.MAX_ATTEMPTS))
    engine.dispose()
    with _client(stores_db) as client:
        failed = _wait(client, report_id)
        assert failed.json()["status"] == "Failed"
        assert "interrupted" in failed.json()["error"]


def test_report_without_polls_fails_cleanly(stores_db) -> None:
    with _client(stores_db) as client:
        rid = client.post("/trigger_report").json()["report_id"]
        failed = _wait(client, rid)
        assert failed.json()["status"] == "Failed" and "no polls" in failed.json()["error"]


def test_hourly_job_writes_the_combined_report(stores_any_db, tmp_path: Path) -> None:
    _example(stores_any_db)
    target = tmp_path / "out" / "combined_report.csv"
    with _client(stores_any_db, stores_combined_report=target) as client:
        assert client.get("/combined_report").status_code == 404
        pack = next(p for p in discover_packs() if p.name == "stores")
        job = pack.jobs[0]
        ss = StoresSettings(stores_combined_report=target)
        assert job.every(ss).total_seconds() == 3600
        summary = run_pack(stores_any_db.settings, "stores", job.name,
                           stores_combined_report=target)
        assert summary.stores == 2
        assert target.read_text().splitlines()[1] == "s1,15.00,2.25,2.25,45.00,0.75,0.75"
        served = client.get("/combined_report")
        assert served.status_code == 200 and served.text == target.read_text()


def test_hourly_job_reruns_an_orphaned_report(stores_db) -> None:
    _example(stores_db)
    engine = make_engine(stores_db.settings.database_url)
    report_id = jobs.create_run(engine, jobs.ReportOptions())
    engine.dispose()
    summary = run_pack(stores_db.settings, "stores", "report")
    assert summary.reports_recovered == 1
    assert jobs.report_path(stores_db.settings, report_id).is_file()
    default = stores_db.settings.resolved_state_dir / "stores" / "combined_report.csv"
    assert default.is_file()


def test_hourly_job_on_an_empty_database(stores_db) -> None:
    summary = run_pack(stores_db.settings, "stores", "report")
    assert (summary.reports_recovered, summary.stores, summary.as_of_us) == (0, 0, 0)
    assert not (stores_db.settings.resolved_state_dir / "stores" / "combined_report.csv").exists()


def test_stores_page_renders_on_every_database(stores_any_db) -> None:
    from fastapi.testclient import TestClient

    from kpiflow.registry import discover_packs
    from kpiflow.runtime import Runtime
    from kpiflow.server import create_app

    stores_any_db.load(status="store_id,status,timestamp_utc\nA7,active,2023-01-23 15:14:00 UTC\n")
    runtime = Runtime.build(stores_any_db.settings, discover_packs())
    with TestClient(create_app(runtime)) as client:
        page = client.get("/stores")
    assert page.status_code == 200
    assert 'data-store="A7"' in page.text
