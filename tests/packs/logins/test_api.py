"""The logins routes through FastAPI's TestClient, on every database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from kpiflow.server import create_app
from tests.packs.logins.conftest import Logins, line


@pytest.fixture
def client(logins_any_db: Logins) -> Iterator[TestClient]:
    logins_any_db.write("a.jsonl", [
        line("2024-01-01T10:00:00Z", "ann"), line("2024-01-04T10:00:00Z", "ann"),
        line("2024-01-09T10:00:00Z", "bob"), line("2024-02-01T10:00:00Z", "cid"), "{bad"])
    logins_any_db.run(date(2024, 1, 1), date(2024, 2, 29))
    with TestClient(create_app(logins_any_db.runtime)) as c:
        yield c


def test_uniques(client: TestClient) -> None:
    r = client.get("/api/v1/logins/uniques",
                   params={"aggregate": "w", "start": "2024-01-01", "end": "2024-01-21"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "UTC" and body["week_ends"] == "W-SUN"
    assert body["checkpoint"] == "2024-02-29"
    assert [(p["period"], p["unique_users"], p["complete"]) for p in body["periods"]] == [
        ("2024-01-07", 1, True), ("2024-01-14", 1, True), ("2024-01-21", 0, True)]
    q = client.get("/api/v1/logins/uniques",
                   params={"aggregate": "Q", "start": "2024-01-01", "end": "2024-02-29"}).json()
    assert [(p["unique_users"], p["days_covered"], p["days_in_period"]) for p in q["periods"]] == [
        (3, 60, 91)]


def test_bad_parameters_are_422_and_empty_ranges_are_zeros(client: TestClient) -> None:
    r = client.get("/api/v1/logins/uniques", params={"start": "2024-02-01", "end": "2024-01-01"})
    assert r.status_code == 422 and "start" in r.text
    assert client.get("/api/v1/logins/uniques", params={"aggregate": "H"}).status_code == 422
    assert client.get("/api/v1/logins/uniques", params={"start": "soon"}).status_code == 422
    empty = client.get("/api/v1/logins/uniques",
                       params={"aggregate": "M", "start": "2023-01-01", "end": "2023-03-31"})
    assert empty.status_code == 200
    assert [p["unique_users"] for p in empty.json()["periods"]] == [0, 0, 0]


def test_seed_routes(client: TestClient) -> None:
    params = {"aggregate": "M", "start": "2024-01-01 00:00:00", "end": "2024-02-29"}
    raw = client.get("/usage/login/raw", params=params).json()
    assert [(d["timestamp"], d["user"]) for d in raw["data"]] == [
        ("2024-01-31", 2), ("2024-02-29", 1)]
    csv = client.get("/usage/login/raw", params=params, headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == ["period,unique_users,days_covered,days_in_period",
                                     "2024-01-31,2,31,31", "2024-02-29,1,29,29"]
    plot = client.get("/usage/login/plot", params=params).json()["data"]
    assert plot["target_id"] == "logins-plot"
    text = str(plot["doc"])
    assert "month (period end, UTC)" in text and "week" not in text
    weekly = str(client.get("/usage/login/plot", params={**params, "aggregate": "W"}).json())
    assert "week (ending Sun)" in weekly
    page = client.get("/usage/login", params=params)
    assert page.status_code == 200 and 'id="logins-plot"' in page.text
    assert "static/bokeh/js/bokeh.min.js" in page.text and "cdn" not in page.text.lower()


def test_quarantine_shows_file_and_line(client: TestClient, logins_any_db: Logins) -> None:
    rows = client.get("/api/v1/quarantine/", params={"pack": "logins"}).json()
    assert [(r["path"], r["line"]) for r in rows] == [(str(logins_any_db.logs / "a.jsonl"), 5)]
