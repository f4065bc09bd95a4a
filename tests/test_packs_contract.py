"""Every installed pack is fully plugged in: tables migrate, CLI answers, routes are served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.registry import Pack, Runtime, discover_packs
from kpiflow.server import create_app
from kpiflow.store.db import make_engine
from kpiflow.store.migrate import upgrade
from kpiflow.store.tables import metadata as core_metadata
from tests import example_pack

PACKS = discover_packs()


def test_network_is_discovered_through_its_entry_point() -> None:
    assert "network" in [p.name for p in PACKS]
    assert all(isinstance(p, Pack) for p in PACKS)


def test_every_table_migrates_on_every_database(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, PACKS)
        upgrade(engine, PACKS)  # idempotent
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    expected = {t.name for t in core_metadata.tables.values()}
    expected |= {t.name for p in PACKS for t in p.tables}
    assert expected <= names


def test_migrated_columns_match_the_table_definitions(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine, PACKS)
    inspector = inspect(engine)
    for table in [*core_metadata.tables.values(), *(t for p in PACKS for t in p.tables)]:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.c}, table.name
    engine.dispose()


@pytest.mark.parametrize("pack", [p for p in PACKS if p.cli is not None], ids=lambda p: p.name)
def test_cli_help(pack: Pack) -> None:
    result = CliRunner().invoke(cli_app, [pack.name, "--help"])
    assert result.exit_code == 0 and pack.name in result.output.lower()


def test_routes_of_every_pack_are_in_openapi(sqlite_url: str) -> None:
    runtime = Runtime.build(Settings(database_url=sqlite_url), PACKS)
    with TestClient(create_app(runtime)) as client:
        paths = set(client.get("/openapi.json").json()["paths"])
    for pack in PACKS:
        if pack.router is not None:
            assert {r.path for r in pack.router.routes} <= paths


def test_an_outside_pack_plugs_in_without_editing_core(sqlite_url: str) -> None:
    packs = (*PACKS, example_pack.pack)
    engine = make_engine(sqlite_url)
    upgrade(engine, packs)
    assert "example_things" in inspect(engine).get_table_names()
    engine.dispose()
    runtime = Runtime.build(Settings(database_url=sqlite_url), packs)
    with TestClient(create_app(runtime)) as client:
        assert client.get("/api/v1/example/ping").json() == {"example": "pong"}


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
