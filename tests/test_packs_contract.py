"""Every pack is fully plugged in: tables migrate, CLI answers, routes are served, pages render,
jobs are scheduled or on demand, commands are listed, serve hooks run. Each check runs over
every discovered pack plus tests/example_pack, which no core file names."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.stores.jobs import ReportWorker
from kpiflow.registry import Pack, discover_packs
from kpiflow.runtime import Runtime
from kpiflow.scheduler import build_scheduler, job_id, trigger
from kpiflow.server import create_app
from kpiflow.store.db import make_engine
from kpiflow.store.migrate import upgrade
from kpiflow.store.tables import metadata as core_metadata
from tests import example_pack
from tests.helpers import KPIFLOW, make_settings

PACKS = discover_packs()
ALL = (*PACKS, example_pack.pack)
ROOT = Path(__file__).resolve().parents[1]


def _by_name(packs: tuple[Pack[Any], ...]) -> list[Any]:
    return [pytest.param(p, id=p.name) for p in packs]


def _installed_with_example(*args: str) -> subprocess.CompletedProcess[str]:
    """A real `kpiflow` process that finds the example pack through its entry point."""
    path = os.pathsep.join([str(example_pack.SITE), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run([str(KPIFLOW), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": path, "COLUMNS": "200"})


def test_network_is_discovered_through_its_entry_point() -> None:
    assert "network" in [p.name for p in PACKS]
    assert all(isinstance(p, Pack) for p in PACKS)
    assert "example" not in [p.name for p in PACKS]  # installed only where a test says so


def test_every_table_migrates_on_every_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, ALL)
        upgrade(engine, ALL)  # idempotent
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = {t.name for t in core_metadata.tables.values()}
    expected |= {t.name for p in ALL for t in p.tables}
    assert expected <= names and "example_things" in names


def test_migrated_columns_match_the_table_definitions(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine, ALL)
    inspector = inspect(engine)
    for table in [*core_metadata.tables.values(), *(t for p in ALL for t in p.tables)]:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.c}, table.name
    engine.dispose()


@pytest.mark.parametrize("pack", _by_name(tuple(p for p in PACKS if p.cli is not None)))
def test_cli_help(pack: Pack[Any]) -> None:
    result = CliRunner().invoke(cli_app, [pack.name, "--help"])
    assert result.exit_code == 0 and pack.name in result.output.lower()


def test_commands_of_every_pack_are_in_kpiflow_help() -> None:
    listed = CliRunner().invoke(cli_app, ["--help"], terminal_width=200)
    assert listed.exit_code == 0
    for pack in PACKS:
        for command in pack.commands:
            assert command.name in listed.output, command.name


def test_the_example_pack_plugs_into_a_real_kpiflow_through_its_entry_point(
    tmp_path: Path,
) -> None:
    listed = _installed_with_example("--help")
    assert listed.returncode == 0, listed.stderr
    assert "example-hello" in listed.stdout and "Greet from the example pack" in listed.stdout
    assert "example " in listed.stdout  # the sub-app, next to network and stores
    hello = _installed_with_example("example-hello", "--name", "pack author")
    assert hello.returncode == 0 and hello.stdout == "hello pack author, from the example pack\n"
    sub = _installed_with_example("--database-url", f"sqlite:///{tmp_path / 'k.db'}",
                                  "example", "cron")
    assert sub.returncode == 0 and sub.stdout == "30 1 * * *\n", sub.stderr
    assert _installed_with_example("example", "--help").returncode == 0


def test_routes_of_every_pack_are_in_openapi(sqlite_url: str) -> None:
    runtime = Runtime.build(Settings(database_url=sqlite_url), ALL)
    with TestClient(create_app(runtime)) as client:
        paths = set(client.get("/openapi.json").json()["paths"])
    for pack in ALL:
        if pack.router is not None:
            assert {r.path for r in pack.router.routes} <= paths, pack.name


def test_pages_of_every_pack_render(tmp_path: Path) -> None:
    runtime = Runtime.build(make_settings(tmp_path, f"sqlite:///{tmp_path / 'k.db'}"), ALL)
    with TestClient(create_app(runtime)) as client:
        for pack in ALL:
            for page in pack.pages:
                shown = client.get(page.path)
                assert shown.status_code == 200, (page.path, shown.text[:500])
                assert page.title in shown.text and "<nav" in shown.text


@pytest.mark.parametrize("pack", _by_name(ALL))
def test_jobs_have_a_trigger_or_run_on_demand(pack: Pack[Any], sqlite_url: str) -> None:
    runtime = Runtime.build(Settings(database_url=sqlite_url), ALL)
    scheduled = {j.id for j in build_scheduler(runtime).get_jobs()}
    now = datetime.now(UTC)
    for job in pack.jobs:
        when = trigger(runtime, pack, job)
        settings = runtime.settings_for(pack)
        # On demand (CLI, API, Run now): no trigger, or an interval these settings turn off.
        if (job.every is None or job.every(settings) is None) and job.cron is None:
            assert when is None and job_id(pack, job) not in scheduled
            continue
        assert when is not None and job_id(pack, job) in scheduled
        assert when.get_next_fire_time(None, now) > now
        assert job.description, f"{job_id(pack, job)}: say what the job does"


def test_the_example_job_runs_on_its_cron_and_quarantines_a_row_from_no_file(
    tmp_path: Path, database_url: str
) -> None:
    runtime = Runtime.build(make_settings(tmp_path, database_url), ALL)
    when = trigger(runtime, example_pack.pack, example_pack.pack.job("tally"))
    assert isinstance(when, CronTrigger)
    fire = when.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    assert (fire.hour, fire.minute, str(fire.tzinfo)) == (1, 30, "Europe/Athens")
    try:
        first = run_job(runtime, example_pack.pack)
        second = run_job(runtime, example_pack.pack, "tally")
    finally:
        runtime.close()
    assert (first.counts(), second.counts()) == (
        {"things": 1, "quarantined": 1}, {"things": 2, "quarantined": 1})
    with TestClient(create_app(Runtime.build(make_settings(tmp_path, database_url), ALL))) as c:
        runs = c.get("/api/v1/runs/", params={"pack": "example"}).json()
        rows = c.get("/api/v1/quarantine/", params={"pack": "example"}).json()
    assert [(r["job"], r["status"], r["counts"]) for r in runs] == [
        ("tally", "ok", {"things": 2, "quarantined": 1}),
        ("tally", "ok", {"things": 1, "quarantined": 1})]
    assert sorted(r["path"] for r in rows) == [
        f"pushed batch {runs[1]['id']}", f"pushed batch {runs[0]['id']}"]
    assert {(r["line"], r["reason"], r["raw"]) for r in rows} == {
        (1, "value: not a number", '{"value": "many"}')}


def test_serve_hooks_run_at_startup_and_shutdown(sqlite_url: str) -> None:
    example_pack.HOOK_CALLS.clear()
    runtime = Runtime.build(Settings(database_url=sqlite_url), ALL)
    app = create_app(runtime)
    assert example_pack.HOOK_CALLS == []
    with TestClient(app) as client:
        assert example_pack.HOOK_CALLS == ["startup"]
        assert client.get("/api/v1/example/ping").json() == {"example": "pong", "started": True}
        assert isinstance(app.state.pack_resources["stores"].get("worker"), ReportWorker)
    assert example_pack.HOOK_CALLS == ["startup", "shutdown"]
    assert app.state.pack_resources["example"] == {}
    assert "worker" not in app.state.pack_resources["stores"]  # its pool was shut down


def test_a_migration_cut_short_is_finished_by_the_next_upgrade(database_url: str) -> None:
    """MariaDB commits each CREATE at once: a process killed mid-migration leaves tables made
    and no revision recorded. The next upgrade must finish the job, not fail on them."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, PACKS)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
            conn.execute(text("DROP TABLE kpi_cell_unique_users"))
        upgrade(engine, PACKS)
        names = set(inspect(engine).get_table_names())
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("kpi_cell_unique_users")}
    finally:
        engine.dispose()
    assert "kpi_cell_unique_users" in names
    assert {"ix_kpi_cell_unique_users_end", "ix_kpi_cell_unique_users_id"} <= indexes
