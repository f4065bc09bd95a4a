"""/healthz, /readyz and `kpiflow status` against real passes: a failing pass turns them red."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.errors import DataDirMissing
from kpiflow.lifecycle import run_job
from kpiflow.packs.network import generate
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app


def _runtime(tmp_path: Path, database_url: str, **extra: object) -> Runtime:
    data = tmp_path / "data"
    if not data.exists():
        generate.generate(data, datetime(2026, 1, 5, tzinfo=UTC), 0.25, 100, 1, seed=3)
    settings = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state",
                        **extra)
    return Runtime.build(settings, discover_packs())


def _failing_pass(rt: Runtime) -> None:
    try:
        run_job(rt, rt.pack("network"))
    except DataDirMissing:
        return
    raise AssertionError("the pass did not fail")


def test_one_failing_pass_turns_readyz_red(tmp_path: Path, database_url: str) -> None:
    rt = _runtime(tmp_path, database_url, ready_failed_passes=1)
    with TestClient(create_app(rt)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        fresh = client.get("/readyz")
        assert fresh.status_code == 200 and fresh.json()["ready"] is True
        run_job(rt, rt.pack("network"))
        ok = client.get("/readyz").json()
        network = next(p for p in ok["packs"] if p["pack"] == "network")
        assert network["last_status"] == "ok" and network["files"] == {"ingested": 3}
        assert 0 <= network["age_seconds"] < 60
        shutil.rmtree(tmp_path / "data")  # the next pass fails: DATA_DIR is gone
        _failing_pass(rt)
        red = client.get("/readyz")
        assert red.status_code == 503
        body = red.json()
        assert body["ready"] is False and body["database"] == "ok"
        [reason] = body["reasons"]
        assert reason.startswith("pack network: its last 1 passes failed (last error: ")
        assert str(tmp_path / "data") in reason
        network = next(p for p in body["packs"] if p["pack"] == "network")
        assert network["last_status"] == "failed" and network["failed_in_a_row"] == 1
        assert client.get("/healthz").status_code == 200  # liveness is not readiness


def test_readyz_waits_for_n_failures_and_recovers(tmp_path: Path, sqlite_url: str) -> None:
    rt = _runtime(tmp_path, sqlite_url)  # default: 3 failed passes in a row
    data = tmp_path / "data"
    moved = tmp_path / "moved"
    with TestClient(create_app(rt)) as client:
        data.rename(moved)
        for expected in (200, 200, 503):
            _failing_pass(rt)
            assert client.get("/readyz").status_code == expected
        moved.rename(data)
        run_job(rt, rt.pack("network"))
        assert client.get("/readyz").status_code == 200


def test_readyz_says_the_database_is_down(tmp_path: Path) -> None:
    rt = _runtime(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:9/nothing_listens_here")
    client = TestClient(create_app(rt))  # no lifespan: the schema cannot be made either
    reply = client.get("/readyz")
    assert reply.status_code == 503
    assert reply.json()["reasons"][0].startswith("database unreachable: ")
    assert client.get("/healthz").status_code == 200


def test_readyz_reports_the_scheduler(tmp_path: Path, sqlite_url: str) -> None:
    rt = _runtime(tmp_path, sqlite_url)
    app = create_app(rt, schedule=True)
    with TestClient(app) as client:
        assert client.get("/readyz").json()["scheduler"] == "running"
        app.state.scheduler.shutdown(wait=True)
        stopped = client.get("/readyz")
        assert stopped.status_code == 503
        assert "the scheduler is not running" in stopped.json()["reasons"]
    with TestClient(create_app(_runtime(tmp_path, sqlite_url))) as client:
        assert client.get("/readyz").json()["scheduler"] == "off"


def test_status_command(tmp_path: Path, sqlite_url: str) -> None:
    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 1, 5, tzinfo=UTC), 0.25, 100, 1, seed=3)
    runner = CliRunner()
    base = ["--database-url", sqlite_url, "--data-dir", str(data), "--state-dir",
            str(tmp_path / "state")]
    assert runner.invoke(cli_app, [*base, "network", "run"]).exit_code == 0
    table = runner.invoke(cli_app, [*base, "status"])
    assert table.exit_code == 0, table.output
    assert "ready" in table.output and "network" in table.output
    as_json = json.loads(runner.invoke(cli_app, [*base, "status", "--format", "json"]).stdout)
    assert as_json[0]["ready"] is True
    network = next(p for p in as_json[0]["packs"] if p["pack"] == "network")
    assert network["last_status"] == "ok" and network["files"]["ingested"] == 3
    # CSV: one row per pack, though only network has files (their fields differ per pack)
    as_csv = runner.invoke(cli_app, [*base, "status", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    rows = {r["pack"]: r for r in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert rows["network"]["files_ingested"] == "3" and rows["network"]["last_pass"] == "ok"
    assert rows["stores"]["files_ingested"] == "" and rows["stores"]["last_pass"] == "none yet"
    shutil.rmtree(data)
    env = {"KPIFLOW_READY_FAILED_PASSES": "1"}
    assert runner.invoke(cli_app, [*base, "network", "run"], env=env).exit_code == 1
    red = runner.invoke(cli_app, [*base, "status", "--format", "json"], env=env)
    assert red.exit_code == 1
    assert json.loads(red.stdout)[0]["ready"] is False
    assert "not ready: pack network" in red.stderr
