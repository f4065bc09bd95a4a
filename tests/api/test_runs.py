"""Run now over HTTP: token rules, the run lock, a worker thread; the ingest read routes."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from kpiflow.config import Settings
from kpiflow.packs.network import generate
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from kpiflow.store.lock import run_lock
from kpiflow.store.tables import runs
from tests.dashboard.servers import serve
from tests.helpers import make_settings, run_pack

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _settings(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    data = tmp_path / "data"
    if not data.exists():
        from datetime import UTC, datetime

        generate.generate(data, datetime(2026, 1, 5, tzinfo=UTC), 0.5, 200, 1, seed=2)
    return make_settings(tmp_path, database_url, **extra)


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(Runtime.build(settings, discover_packs())))


def _runs(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(runs)).scalar_one()
    engine.dispose()
    return int(n)


def test_run_now_needs_the_token(tmp_path: Path, database_url: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _client(_settings(tmp_path, database_url, api_token=TOKEN)) as client:
        missing = client.post("/api/v1/runs/network")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in missing.json()["detail"]
        wrong = client.post("/api/v1/runs/network", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403 and wrong.json()["detail"] == "wrong token"
        basic = client.post("/api/v1/runs/network", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert _runs(database_url) == 0  # refused requests ran nothing
        ok = client.post("/api/v1/runs/network", headers=AUTH)
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["pack"] == "network" and body["job"] == "ingest"
        assert body["counts"]["files_new"] == 6 and body["counts"]["rows"] == 1200
        listed = client.get("/api/v1/runs/", params={"pack": "network"}).json()
        assert [r["status"] for r in listed] == ["ok"] and listed[0]["counts"]["files_new"] == 6
        assert client.post("/api/v1/runs/nope", headers=AUTH).status_code == 404
        assert client.post("/api/v1/runs/network", params={"job": "x"},
                           headers=AUTH).status_code == 404
    assert _runs(database_url) == 1
    assert TOKEN not in caplog.text


def test_without_a_configured_token_run_now_is_disabled(tmp_path: Path, sqlite_url: str) -> None:
    for token in (None, ""):
        with _client(_settings(tmp_path, sqlite_url, api_token=token)) as client:
            reply = client.post("/api/v1/runs/network", headers=AUTH)
            assert reply.status_code == 403
            assert "no API token is configured" in reply.json()["detail"]
            assert "KPIFLOW_API_TOKEN" in reply.json()["detail"]
    assert _runs(sqlite_url) == 0


def test_token_from_the_environment(tmp_path: Path, sqlite_url: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIFLOW_API_TOKEN", TOKEN)
    settings = _settings(tmp_path, sqlite_url)
    assert settings.api_token is not None and TOKEN not in repr(settings)
    with _client(settings) as client:
        assert client.post("/api/v1/runs/network", headers=AUTH).status_code == 200


def test_run_now_while_a_pass_holds_the_lock_is_409(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url, api_token=TOKEN)
    with _client(settings) as client:
        engine = create_engine(database_url)
        with run_lock(engine, "network", settings.resolved_state_dir):
            busy = client.post("/api/v1/runs/network", headers=AUTH)
        engine.dispose()
        assert busy.status_code == 409
        assert "another network pass is running" in busy.json()["detail"]
        assert client.post("/api/v1/runs/network", headers=AUTH).status_code == 200


def test_a_run_waits_in_a_worker_thread_while_the_server_keeps_answering(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = _settings(tmp_path, sqlite_url, api_token=TOKEN, lock_timeout_seconds=30)
    app = create_app(Runtime.build(settings, discover_packs()))
    engine = create_engine(sqlite_url)
    outcome: dict[str, httpx.Response] = {}
    with serve(app) as url:
        with run_lock(engine, "network", settings.resolved_state_dir):
            thread = threading.Thread(target=lambda: outcome.update(
                run=httpx.post(f"{url}/api/v1/runs/network", headers=AUTH, timeout=60)))
            thread.start()
            time.sleep(0.5)  # the run is now waiting for the lock we hold
            started = time.perf_counter()
            for _ in range(5):
                assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
                assert httpx.get(f"{url}/api/v1/runs/", timeout=5).status_code == 200
            assert time.perf_counter() - started < 5
            assert "run" not in outcome  # still waiting
        thread.join(timeout=60)
    engine.dispose()
    assert outcome["run"].status_code == 200
    assert outcome["run"].json()["counts"]["files_new"] == 6


def test_ledger_and_quarantine_routes(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url, api_token=TOKEN)
    bad = settings.data_dir / "bad.txt"
    bad.write_text("interval_start_timestamp,interval_end_timestamp,msisdn,bytes_uplink,"
                   "bytes_downlink,service_id,cell_id\n1,2,3,4,5,6,7\n")
    (settings.data_dir / "junk.txt").write_text("not a header\n")
    with _client(settings) as client:
        assert client.post("/api/v1/runs/network", headers=AUTH).status_code == 200
        ledger = client.get("/api/v1/ledger/", params={"limit": 3})
        assert ledger.headers["x-total-count"] == "8" and len(ledger.json()) == 3
        rejected = client.get("/api/v1/ledger/", params={"status": "rejected"}).json()
        assert [r["path"] for r in rejected] == ["junk.txt"]
        assert "header" in rejected[0]["error"]
        quarantined = client.get("/api/v1/quarantine/").json()
        assert [(q["path"], q["line"]) for q in quarantined] == [("bad.txt", 2)]
        assert quarantined[0]["raw"] == "1,2,3,4,5,6,7"
        assert client.get("/api/v1/ledger/", params={"limit": 0}).status_code == 422
        assert client.get("/api/v1/ledger/", params={"colour": "red"}).status_code == 422


def test_reingest_needs_the_token_and_rereads_the_file(tmp_path: Path, database_url: str) -> None:
    settings = _settings(tmp_path, database_url, api_token=TOKEN)
    run_pack(settings, "network")
    with _client(settings) as client:
        entry = client.get("/api/v1/ledger/", params={"limit": 1}).json()[0]
        url = f"/api/v1/ledger/{entry['id']}/reingest"
        assert client.post(url).status_code == 401
        assert client.post(url, headers={"Authorization": "Bearer nope"}).status_code == 403
        assert client.post("/api/v1/ledger/999999/reingest", headers=AUTH).status_code == 404
        assert client.post("/api/v1/ledger/0/reingest", headers=AUTH).status_code == 422
        assert client.post("/api/v1/ledger/..%2F..%2Fetc/reingest", headers=AUTH).status_code in (
            404, 422)
        done = client.post(url, headers=AUTH)
        assert done.status_code == 200 and done.json()["path"] == entry["path"]
    again = run_pack(settings, "network")
    # Read and hashed again; same bytes, so nothing changes and nothing is recomputed.
    assert (again.files_new, again.files_changed, again.intervals_updated) == (0, 0, 0)
    assert again.files_unchanged == len(list((tmp_path / "data").rglob("*.txt")))
    with _client(_settings(tmp_path, database_url)) as client:  # no token configured
        assert client.post(url, headers=AUTH).status_code == 403
