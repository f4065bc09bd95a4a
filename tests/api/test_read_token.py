"""KPIFLOW_API_TOKEN_READS: the read routes behind the bearer token, over real HTTP (TestClient)
on every database; /healthz, the docs and the dashboard's pages and static files stay open."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError
from typer.testing import CliRunner

from kpiflow.config import Settings
from kpiflow.packs.stores import load
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import make_settings, run_pack

TOKEN = "read-test-token"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}
WRONG = {"Authorization": "Bearer not-the-token"}

NETWORK_READS = ["/api/v1/services-kpis/", "/api/v1/cell-kpis/", "/api/KPIs/",
                 "/api/v1/network/extent/?interval=5"]
INGEST_READS = ["/api/v1/runs/", "/api/v1/ledger/", "/api/v1/quarantine/"]
OPEN = ["/healthz", "/docs", "/openapi.json",
        "/static/dashboard/dashboard.js", "/static/dashboard/dashboard.css"]


def _load_one_store(settings: Settings, folder: Path) -> None:
    """The stores statement's example store, so that a report has a row."""
    (folder / "h.csv").write_text("store_id,dayOfWeek,start_time_local,end_time_local\n"
                                  "s1,0,09:00:00,12:00:00\n")
    (folder / "z.csv").write_text("store_id,timezone_str\ns1,America/New_York\n")
    (folder / "s.csv").write_text("store_id,timestamp_utc,status\n"
                                  "s1,2023-01-23 15:14:00 UTC,active\n")
    run_pack(settings, "stores", load.load_job({
        "hours": folder / "h.csv", "timezones": folder / "z.csv", "status": folder / "s.csv"}))


@pytest.fixture
def protected(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """The app on each database, with KPIFLOW_API_TOKEN_READS on."""
    settings = make_settings(tmp_path, database_url, api_token=TOKEN, api_token_reads=True)
    _load_one_store(settings, tmp_path)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as client:
        yield client


def _finished_report(client: TestClient, headers: dict[str, str]) -> str:
    """Trigger a stores report and wait for it (so no worker outlives the test database)."""
    triggered = client.post("/trigger_report", headers=headers)
    assert triggered.status_code == 200, triggered.text
    report_id = triggered.json()["report_id"]
    deadline = time.monotonic() + 60
    while True:
        reply = client.get("/get_report", params={"report_id": report_id}, headers=headers)
        assert reply.status_code == 200, reply.text
        if reply.headers["content-type"].startswith("text/csv"):
            assert reply.text.splitlines()[1].startswith("s1,"), reply.text
            return report_id
        assert reply.json()["status"] == "Running", reply.text
        assert time.monotonic() < deadline, "the report did not finish"
        time.sleep(0.1)


def test_reads_are_open_with_the_option_off(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, api_token=TOKEN)
    assert settings.api_token_reads is False
    _load_one_store(settings, tmp_path)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as client:
        for path in NETWORK_READS + INGEST_READS:
            assert client.get(path).status_code == 200, path
        _finished_report(client, {})
        page = client.get("/network")
        assert page.status_code == 200 and 'id="token-prompt"' not in page.text
        # the write route still needs the token, as before
        assert client.post("/api/v1/runs/network").status_code == 401


def test_reads_need_the_token_with_the_option_on(protected: TestClient) -> None:
    client = protected
    for path in NETWORK_READS + INGEST_READS:
        missing = client.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in missing.json()["detail"]
        wrong = client.get(path, headers=WRONG)
        assert (wrong.status_code, wrong.json()) == (403, {"detail": "wrong token"}), path
        assert client.get(path, headers=RIGHT).status_code == 200, path
    # the stores seed routes: trigger, poll, and the combined report
    assert client.post("/trigger_report").status_code == 401
    assert client.post("/trigger_report", headers=WRONG).status_code == 403
    report_id = _finished_report(client, RIGHT)
    assert client.get("/get_report", params={"report_id": report_id}).status_code == 401
    assert client.get("/get_report", params={"report_id": report_id},
                      headers=WRONG).status_code == 403
    assert client.get("/combined_report").status_code == 401
    assert client.get("/combined_report", headers=WRONG).status_code == 403
    assert client.get("/combined_report", headers=RIGHT).status_code == 404  # none yet
    assert client.get("/api/v1/stores/s1/week").status_code == 401
    assert client.get("/api/v1/stores/s1/week", headers=WRONG).status_code == 403
    assert client.get("/api/v1/stores/s1/week", headers=RIGHT).status_code == 200


def test_health_docs_and_static_files_stay_open(protected: TestClient) -> None:
    for path in OPEN:
        assert protected.get(path).status_code == 200, path
    assert protected.get("/", follow_redirects=False).status_code == 307


@pytest.mark.parametrize("path", ["/network", "/ingest", "/stores"])
def test_pages_show_only_the_prompt_without_the_token(protected: TestClient, path: str) -> None:
    """Server-built pages hold data too (the Ingest page's ledger and quarantine): locked."""
    missing = protected.get(path)
    assert missing.status_code == 401
    assert 'id="token-prompt"' in missing.text and 'id="token-prompt" hidden' not in missing.text
    assert "needs the API token" in missing.text and "<table" not in missing.text
    protected.cookies.set("kpiflow_token", "not-the-token")
    refused = protected.get(path)
    assert refused.status_code == 401 and "was refused" in refused.text
    protected.cookies.set("kpiflow_token", TOKEN)
    opened = protected.get(path)
    assert opened.status_code == 200 and 'id="token-prompt" hidden' in opened.text
    assert TOKEN not in opened.text


def test_every_api_route_of_core_and_packs_is_behind_the_token(sqlite_url: str,
                                                               tmp_path: Path) -> None:
    """Not a list kept by hand: every operation in the schema but /healthz answers 401 without
    the token (before its parameters are checked), and documents 401 and 403."""
    settings = make_settings(tmp_path, sqlite_url, api_token=TOKEN, api_token_reads=True)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as client:
        paths = client.get("/openapi.json").json()["paths"]
        operations = [(method, path) for path, ops in paths.items() if path != "/healthz"
                      for method in ops]
        assert len(operations) >= 15
        for method, path in operations:
            reply = client.request(method, re.sub(r"\{[^}]+\}", "1", path))
            assert reply.status_code == 401, (method, path, reply.text)
            assert {"401", "403"} <= paths[path][method]["responses"].keys(), (method, path)
    health = paths["/healthz"]["get"]["responses"]
    assert "401" not in health and "403" not in health


def test_without_the_option_reads_document_no_401(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sqlite_url, api_token=TOKEN)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert "401" not in paths["/api/v1/runs/"]["get"]["responses"]
    assert "401" in paths["/api/v1/runs/{pack}"]["post"]["responses"]  # writes, as before


def test_the_option_without_a_token_is_refused(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    for token in (None, "", "  "):
        with pytest.raises(ValidationError, match="KPIFLOW_API_TOKEN is not set"):
            Settings(api_token_reads=True, api_token=token)
    monkeypatch.setenv("KPIFLOW_API_TOKEN_READS", "true")
    with pytest.raises(ValidationError, match="KPIFLOW_API_TOKEN_READS is on"):
        Settings()
    from kpiflow.cli import app

    result = CliRunner().invoke(app, ["--database-url", f"sqlite:///{tmp_path / 'k.db'}",
                                      "db", "upgrade"])
    assert result.exit_code == 1
    assert "invalid settings: KPIFLOW_API_TOKEN_READS is on" in result.output
    monkeypatch.setenv("KPIFLOW_API_TOKEN", TOKEN)
    assert Settings().api_token_reads is True


# Schemathesis with the option on: every refusal (401 without the header) is in the schema.
_tmp = Path(tempfile.mkdtemp(prefix="kpiflow-read-token-"))
_protected_app = create_app(Runtime.build(
    Settings(database_url=f"sqlite:///{_tmp / 'k.db'}", data_dir=_tmp / "data",
             state_dir=_tmp / "state", api_token=TOKEN, api_token_reads=True),
    discover_packs()))
_schema = schemathesis.openapi.from_asgi("/openapi.json", _protected_app)
OPERATIONS = [result.ok() for result in _schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_protected_api_conforms_to_its_schema(operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=5, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

    check()


def teardown_module() -> None:
    shutil.rmtree(_tmp, ignore_errors=True)
