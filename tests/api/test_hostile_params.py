"""Every route parameter against the shared hostile values: never a 500 or a 503, and the
known-bad ones a 422 naming the parameter (issue 11, cases 9 and 11), on every database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests.hostile import HOSTILE_DURATIONS, HOSTILE_INSTANTS, HOSTILE_INTS, HOSTILE_TEXT

TEXT_PARAMS = [("GET", "/api/v1/runs/", "pack"), ("GET", "/api/v1/ledger/", "pack"),
               ("GET", "/api/v1/ledger/", "status"), ("GET", "/api/v1/quarantine/", "pack"),
               ("GET", "/get_report", "report_id")]
INT_PARAMS = [("GET", "/api/v1/ledger/", "offset"), ("GET", "/api/v1/ledger/", "limit"),
              ("GET", "/api/v1/services-kpis/", "start"), ("GET", "/api/v1/cell-kpis/", "offset"),
              ("GET", "/api/KPIs/1/", "offset"), ("GET", "/api/KPIs/1/", "interval"),
              ("GET", "/api/v1/network/series/", "start")]
INSTANT_PARAMS = [("GET", "/api/v1/stores/1/week", "now"), ("POST", "/trigger_report", "now"),
                  ("GET", "/api/KPIs/1/", "interval_start_timestamp__gte")]
DURATION_PARAMS = [("POST", "/trigger_report", "max_hold")]


def _wire(value: str) -> str:
    """Percent-encoded as a hostile client would send it (a lone surrogate as its raw bytes)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data",
                        state_dir=tmp_path / "state")
    app = create_app(Runtime.build(settings, discover_packs()))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def _cases() -> list[tuple[str, str, str, str]]:
    cases = [(m, r, p, v) for m, r, p in TEXT_PARAMS for v in HOSTILE_TEXT]
    cases += [(m, r, p, v) for m, r, p in INT_PARAMS for v in HOSTILE_INTS]
    cases += [(m, r, p, v) for m, r, p in INSTANT_PARAMS for v in HOSTILE_INSTANTS]
    cases += [(m, r, p, v) for m, r, p in DURATION_PARAMS for v in HOSTILE_DURATIONS]
    return cases


def test_no_hostile_parameter_answers_a_server_error(client: TestClient) -> None:
    failures = []
    for method, route, param, value in _cases():
        r = client.request(method, f"{route}?{param}={_wire(value)}")
        if r.status_code >= 500:
            failures.append((r.status_code, route, param, value[:40], r.text[:200]))
    for value in HOSTILE_TEXT:  # the store id is a path parameter
        r = client.get(f"/api/v1/stores/{_wire(value.replace('/', ''))}/week")
        if r.status_code >= 500:
            failures.append((r.status_code, "store_id", value[:40], r.text[:200]))
    assert failures == []


@pytest.mark.parametrize(("method", "route", "param", "value"), [
    ("GET", "/api/v1/runs/", "pack", "a\x00b"),
    ("GET", "/api/v1/ledger/", "status", "\x00"),
    ("GET", "/get_report", "report_id", "r\x00"),
    ("GET", "/api/v1/ledger/", "offset", "9223372036854775808"),
    ("GET", "/api/v1/stores/1/week", "now", "9999-12-31T23:59:59.999999"),
    ("GET", "/api/v1/stores/1/week", "now", "0001-01-01T00:00:00+01:00"),
    ("POST", "/trigger_report", "max_hold", "99999999999999999999d"),
])
def test_extreme_values_are_a_422_naming_the_parameter(
    client: TestClient, method: str, route: str, param: str, value: str
) -> None:
    r = client.request(method, f"{route}?{param}={_wire(value)}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(param in d["loc"] or d["msg"].startswith(f"{param}:") for d in detail), detail


def test_a_nul_in_a_path_parameter_is_a_422(client: TestClient) -> None:
    r = client.get("/api/v1/stores/a%00b/week")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path"]


def test_a_redirect_never_leaves_the_site(client: TestClient) -> None:
    r = client.get("/api/v1/ledger", headers={"Host": "evil.example"})
    assert r.status_code == 307
    assert r.headers["location"] == "/api/v1/ledger/"


def test_trusted_hosts_refuse_other_hosts(tmp_path: Path, database_url: str) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, state_dir=tmp_path / "s",
                        trusted_hosts="kpiflow.example, *.internal")
    with TestClient(create_app(Runtime.build(settings, discover_packs())),
                    base_url="http://kpiflow.example") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/healthz", headers={"Host": "a.internal"}).status_code == 200
        assert c.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
