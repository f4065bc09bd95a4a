"""X-Total-Count is the number of matching KPI rows, with and without filters."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.network.tables import cell_unique_users, service_traffic_volume
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app

SAMPLE = Path(__file__).resolve().parents[3] / "sample-data" / "network"


def _rows(url: str, table: object, **where: int) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(table)  # type: ignore[arg-type]
        for column, value in where.items():
            stmt = stmt.where(getattr(table.c, column) == value)  # type: ignore[attr-defined]
        n = int(conn.execute(stmt).scalar_one())
    engine.dispose()
    return n


def test_total_count_without_and_with_filters(tmp_path: Path, database_url: str) -> None:
    shutil.copytree(SAMPLE, tmp_path / "data")
    rt = Runtime.build(Settings(database_url=database_url, data_dir=tmp_path / "data",
                                state_dir=tmp_path / "state"), discover_packs())
    run_job(rt, rt.pack("network"))
    services = _rows(database_url, service_traffic_volume)
    cells = _rows(database_url, cell_unique_users)
    hourly = _rows(database_url, service_traffic_volume, interval=60)
    assert services > 3 and cells > 3 and 0 < hourly < services
    with TestClient(create_app(rt)) as client:
        for path, expected in (("/api/v1/services-kpis/", services),
                               ("/api/v1/cell-kpis/", cells), ("/api/KPIs/1/", services),
                               ("/api/KPIs/2/", cells)):
            reply = client.get(path, params={"limit": 1} if path.startswith("/api/v1") else {})
            assert reply.status_code == 200, reply.text
            assert reply.headers["x-total-count"] == str(expected), path
        filtered = client.get("/api/v1/services-kpis/", params={"interval": 60, "limit": 1})
        assert filtered.headers["x-total-count"] == str(hourly)
