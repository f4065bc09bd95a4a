"""The connection a route gets: on PostgreSQL each statement commits on its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from kpiflow.api.deps import DbDep
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.conftest import _database
from tests.helpers import make_settings


@pytest.fixture
def postgresql_url(tmp_path: Path) -> Iterator[str]:
    yield from _database("postgresql", tmp_path)


def test_a_route_on_postgresql_reads_outside_a_transaction(
    tmp_path: Path, postgresql_url: str
) -> None:
    # A transaction around a read at READ COMMITTED cost a BEGIN and a ROLLBACK round trip and
    # bought nothing. Inside one, now() is the transaction's start and stays the same.
    app = create_app(Runtime.build(make_settings(tmp_path, postgresql_url), discover_packs()))

    @app.get("/probe")
    def probe(db: DbDep) -> dict[str, Any]:
        first = db.execute(text("SELECT now()")).scalar_one()
        time.sleep(0.05)
        second = db.execute(text("SELECT now()")).scalar_one()
        return {"first": first.isoformat(), "second": second.isoformat()}

    with TestClient(app) as client:
        answer = client.get("/probe").json()
        assert answer["first"] < answer["second"]
        assert client.get("/api/v1/jobs/").status_code == 200
        # Back in the pool the connections are transactional again: the jobs' writes share it.
        engine = app.state.engine
        pooled = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            assert pooled and not any(c.connection.driver_connection.autocommit for c in pooled)
        finally:
            for c in pooled:
                c.close()
