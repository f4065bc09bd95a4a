"""The network routes against a database filled by a real run, on every database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.helpers import run_pack

SAMPLE = Path(__file__).resolve().parents[3] / "sample-data" / "network"
FIRST = 1488355200000


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    shutil.copytree(SAMPLE, tmp_path / "data")
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data",
                        state_dir=tmp_path / "state")
    run_pack(settings, "network", top_n=3)
    runtime = Runtime.build(settings, discover_packs())
    with TestClient(create_app(runtime)) as c:
        yield c


def test_services_kpis_seed_001_shape_and_filters(client: TestClient) -> None:
    r = client.get("/api/v1/services-kpis/", params={"end_timestamp": FIRST + 300_000})
    assert r.status_code == 200
    assert r.headers["x-total-count"] == "3"
    assert [(x["service_id"], x["total_bytes"], x["interval"]) for x in r.json()] == [
        (1, 16100, 5), (3, 11500, 5), (2, 9260, 5)]
    assert set(r.json()[0]) == {"interval_start_timestamp", "interval_end_timestamp", "interval",
                                "rank", "service_id", "total_bytes"}
    hourly = client.get("/api/v1/services-kpis/", params={"interval": 60}).json()
    assert [x["total_bytes"] for x in hourly] == [32200, 23000, 18520]
    every = client.get("/api/v1/services-kpis/").json()
    assert len(every) == 9  # two 5-minute intervals and one hour, three ranks each
    assert [x["interval_start_timestamp"] for x in every][:3] == [FIRST + 300_000] * 3
    ranged = client.get("/api/v1/services-kpis/",
                        params={"start": FIRST, "end": FIRST + 300_000}).json()
    assert {(x["interval_start_timestamp"], x["interval"]) for x in ranged} == {(FIRST, 5)}


def test_pagination_is_capped_and_complete(client: TestClient) -> None:
    pages = [client.get("/api/v1/cell-kpis/", params={"limit": 4, "offset": o}).json()
             for o in (0, 4, 8)]
    assert [len(p) for p in pages] == [4, 4, 1]
    keys = {(x["interval_start_timestamp"], x["interval"], x["rank"]) for p in pages for x in p}
    assert len(keys) == 9
    assert client.get("/api/v1/cell-kpis/", params={"limit": 1001}).status_code == 422


def test_cell_kpis(client: TestClient) -> None:
    r = client.get("/api/v1/cell-kpis/", params={"end_timestamp": FIRST + 300_000})
    assert [(x["cell_id"], x["number_of_unique_users"]) for x in r.json()] == [
        (1001, 4), (1000, 3), (5005, 3)]


def test_seed_000_routes(client: TestClient) -> None:
    assert client.get("/api/KPIs/").json() == [
        {"id": 1, "name": "ServiceTrafficVolume"}, {"id": 2, "name": "CellUniqueUsers"}]
    # As in the seed's own example: an empty __lte value means no bound.
    r = client.get("/api/KPIs/1/?interval_start_timestamp__gte=2017-03-01T08%3A00%3A00Z"
                   "&interval_end_timestamp__lte=&interval=1")
    assert r.status_code == 200
    first = r.json()[-3:]
    assert [(x["service_id"], x["total_bytes"]) for x in first] == [
        (1, 16100), (3, 11500), (2, 9260)]
    assert first[0]["interval_start_timestamp"] == "2017-03-01T08:00:00Z"
    assert first[0]["interval_end_timestamp"] == "2017-03-01T08:05:00Z"
    assert first[0]["interval"] == 1 and isinstance(first[0]["id"], int)
    hourly = client.get("/api/KPIs/2/", params={"interval": 2}).json()
    assert [(x["cell_id"], x["number_of_unique_users"], x["interval"]) for x in hourly] == [
        (1001, 4, 2), (1000, 3, 2), (5005, 3, 2)]
    upto = client.get("/api/KPIs/1/", params={
        "interval_end_timestamp__lte": "2017-03-01T10:05:00+02:00"}).json()
    assert {x["interval_end_timestamp"] for x in upto} == {"2017-03-01T08:05:00Z"}
    assert client.get("/api/KPIs/3/").status_code == 404


def test_coverage_tells_a_partial_hour(client: TestClient) -> None:
    hours = client.get("/api/v1/coverage/").json()
    assert hours == [{
        "interval_start_timestamp": FIRST, "interval_end_timestamp": FIRST + 3_600_000,
        "interval": 60, "files": 4, "rows": 40, "bad_rows": 0,
        "intervals_with_data": 2, "complete": False}]
    fives = client.get("/api/v1/coverage/", params={"interval": 5}).json()
    assert [(x["interval_start_timestamp"], x["files"], x["rows"]) for x in fives] == [
        (FIRST + 300_000, 2, 20), (FIRST, 2, 20)]


@pytest.mark.parametrize("query", [
    "interval=7", "interval=abc", "end_timestamp=-1", "end_timestamp=9223372036854775808",
    "limit=0", "offset=-1", "start=1e3", "bogus=1", "end_timestamp=1%27%20OR%201=1",
])
def test_bad_parameters_are_422_with_a_message(client: TestClient, query: str) -> None:
    r = client.get(f"/api/v1/services-kpis/?{query}")
    assert r.status_code == 422
    assert r.json()["detail"]


@pytest.mark.parametrize("query", [
    "interval=3", "interval_start_timestamp__gte=yesterday", "interval_end_timestamp__lte=2017-13-01",
    "interval_start_timestamp__gte=%27;DROP%20TABLE%20kpi_service_traffic_volume;--",
])
def test_seed_route_bad_parameters(client: TestClient, query: str) -> None:
    assert client.get(f"/api/KPIs/1/?{query}").status_code == 422
    assert client.get("/api/KPIs/1/").status_code == 200  # the table is still there


def test_healthz_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("/api/v1/services-kpis/", "/api/v1/cell-kpis/", "/api/v1/coverage/",
                  "/api/KPIs/", "/api/KPIs/{kpi_id}/", "/healthz"):
        assert route in paths
