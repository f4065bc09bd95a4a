"""The network page's data routes: one interval's top ids, stepping, a downsampled series."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from kpiflow.config import Settings
from kpiflow.packs.network import generate, queries, tables
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import run_pack

START = datetime(2026, 3, 2, 10, tzinfo=UTC)
FIRST = int(START.timestamp() * 1000)
FIVE = 300_000
HOUR = 3_600_000


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> TestClient:
    data = tmp_path / "data"
    generate.generate(data, START, 3, rows_per_interval=300, parts=1, seed=4)
    settings = Settings(database_url=database_url, data_dir=data, state_dir=tmp_path / "state")
    run_pack(settings, "network", top_n=4)
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as c:
        c.database_url = database_url  # type: ignore[attr-defined]
        yield c


def _table(database_url: str, table, interval: int) -> list[tuple[int, int, int]]:
    id_col, value_col = list(table.c)[-2:]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.interval_start_timestamp, id_col, value_col)
                            .where(table.c.interval == interval)
                            .order_by(table.c.interval_start_timestamp, table.c.rank)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_extent_and_top_with_stepping(client: TestClient) -> None:
    ext = client.get("/api/v1/network/extent/", params={"interval": 5}).json()
    assert ext == {"interval": 5, "first": FIRST, "last": FIRST + 35 * FIVE, "intervals": 36}
    hourly = client.get("/api/v1/network/extent/",
                        params={"interval": 60, "start": FIRST + HOUR}).json()
    assert (hourly["first"], hourly["intervals"]) == (FIRST + HOUR, 2)

    latest = client.get("/api/v1/network/top/", params={"interval": 5}).json()
    assert latest["interval_start_timestamp"] == FIRST + 35 * FIVE
    assert (latest["previous"], latest["next"]) == (FIRST + 34 * FIVE, None)
    rows = _table(client.database_url, tables.service_traffic_volume, 5)
    expected = [(i, v) for s, i, v in rows if s == FIRST + 35 * FIVE]
    assert [(r["id"], r["value"]) for r in latest["services"]] == expected
    assert [r["rank"] for r in latest["cells"]] == [1, 2, 3, 4]

    # at a moment inside an interval: that interval; step -1 / +1: its neighbours
    inside = FIRST + 10 * FIVE + 1234
    for step, index in ((0, 10), (-1, 9), (1, 11)):
        top = client.get("/api/v1/network/top/",
                         params={"interval": 5, "at": inside, "step": step}).json()
        assert top["interval_start_timestamp"] == FIRST + index * FIVE
    # bounded by the range; before the first interval, the first one
    bounded = client.get("/api/v1/network/top/", params={
        "interval": 60, "start": FIRST, "end": FIRST + 2 * HOUR, "at": FIRST + 5 * HOUR}).json()
    assert (bounded["interval_start_timestamp"], bounded["next"]) == (FIRST + HOUR, None)
    early = client.get("/api/v1/network/top/", params={"interval": 60, "at": 0}).json()
    assert early["interval_start_timestamp"] == FIRST and early["previous"] is None
    empty = client.get("/api/v1/network/top/", params={"start": 0, "end": 1000}).json()
    assert empty["interval_start_timestamp"] is None and empty["services"] == []


def test_series_per_interval_and_rolled_up(client: TestClient) -> None:
    rows = _table(client.database_url, tables.cell_unique_users, 5)
    cell = rows[0][1]
    values = {s: v for s, i, v in rows if i == cell}
    params = {"kpi": "cells", "id": cell, "interval": 5, "start": FIRST, "end": FIRST + 3 * HOUR}
    full = client.get("/api/v1/network/series/", params=params).json()
    assert full["bucket_ms"] == FIVE and full["t"] == list(range(FIRST, FIRST + 3 * HOUR, FIVE))
    assert full["mean"] == [values.get(t) for t in full["t"]]
    assert full["n"] == [1 if t in values else 0 for t in full["t"]]

    rolled = client.get("/api/v1/network/series/", params={**params, "max_points": 10}).json()
    half = HOUR // 2  # 36 intervals in at most 10 points: 30-minute buckets of 6
    assert rolled["bucket_ms"] == half and rolled["intervals_per_bucket"] == 6
    assert rolled["t"] == list(range(FIRST, FIRST + 3 * HOUR, half))
    for k, t in enumerate(rolled["t"]):
        inside = [v for s, v in values.items() if t <= s < t + half]
        assert rolled["n"][k] == len(inside)
        assert rolled["min"][k] == min(inside) and rolled["max"][k] == max(inside)
        assert rolled["mean"][k] == pytest.approx(sum(inside) / len(inside))

    services = _table(client.database_url, tables.service_traffic_volume, 60)
    service = services[0][1]
    hourly = client.get("/api/v1/network/series/", params={
        "kpi": "services", "id": service, "interval": 60, "start": FIRST,
        "end": FIRST + 3 * HOUR}).json()
    assert hourly["mean"] == [next((v for s, i, v in services if s == t and i == service), None)
                              for t in hourly["t"]]


@pytest.mark.parametrize("params", [
    {"kpi": "cells", "id": 1, "start": 10, "end": 10},
    {"kpi": "hosts", "id": 1, "start": 0, "end": 10},
    {"kpi": "cells", "id": -1, "start": 0, "end": 10},
    {"kpi": "cells", "id": 1, "start": 0, "end": 10, "interval": 15},
    {"kpi": "cells", "id": 1, "start": 0, "end": 10, "max_points": 1},
    {"kpi": "cells", "id": 1, "start": 0},
    {"kpi": "cells", "id": 1, "start": 0, "end": 10, "colour": "red"},
])
def test_series_bad_parameters_are_422(tmp_path: Path, sqlite_url: str, params: dict) -> None:
    settings = Settings(database_url=sqlite_url, state_dir=tmp_path / "state")
    with TestClient(create_app(Runtime.build(settings, discover_packs()))) as c:
        assert c.get("/api/v1/network/series/", params=params).status_code == 422
        assert c.get("/api/v1/network/top/", params={"step": 2}).status_code == 422
        assert c.get("/api/v1/network/extent/", params={"start": 5, "end": 1}).status_code == 422


def test_bucket_choice() -> None:
    year = 365 * 24 * HOUR
    assert queries.series_bucket_ms(5, 0, 24 * HOUR, 600) == FIVE
    assert queries.series_bucket_ms(5, 0, 7 * 24 * HOUR, 600) == 6 * FIVE
    assert queries.series_bucket_ms(60, 0, 7 * 24 * HOUR, 600) == HOUR
    assert queries.series_bucket_ms(5, 0, year, 600) == 24 * HOUR
    huge = queries.series_bucket_ms(5, 0, 100 * year, 600)  # past the widest: its multiples
    assert huge % (28 * 24 * HOUR) == 0 and -(-100 * year // huge) <= 600
