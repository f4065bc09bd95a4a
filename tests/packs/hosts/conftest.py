"""Helpers for the hosts tests: an app on a real database, pushes in both formats, job runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.registry import Summary, discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Hosts:
    """A running app (TestClient) on one database, with its runtime for running jobs."""

    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    def seed_put(self, ip: str, data: list[dict[str, Any]], **headers: str) -> Any:
        return self.client.put("/ressources-usage/save-all", json={"ipaddress": ip, "data": data},
                               headers={**AUTH, **headers})

    def agent_post(self, samples: list[dict[str, Any]], key: str | None = None,
                   host_id: str = "host-a", ip: str = "10.0.0.1") -> Any:
        body = {"key": key or uuid.uuid4().hex, "host_id": host_id, "hostname": host_id,
                "ip": ip, "cores": 2, "interval": 10, "samples": samples}
        return self.client.post("/api/v1/hosts/samples", json=body, headers=AUTH)

    def run(self, job: str) -> Summary:
        return run_job(self.runtime, self.runtime.pack("hosts"), job)

    @property
    def state_root(self) -> Path:
        return self.runtime.settings.resolved_state_dir / "hosts"


def seed_rows(name: str, kind: str, values: list[float], start: float, step: float = 10.0
              ) -> list[dict[str, Any]]:
    """The seed's `data` entries: one value every `step` seconds from `start`."""
    return [{"timestamp": start + i * step, "value": v, "process_name": name, "type_data": kind}
            for i, v in enumerate(values)]


def make_hosts(tmp_path: Path, database_url: str, **hosts: Any) -> Iterator[Hosts]:
    """An app with a write token on `database_url`, state under tmp_path."""
    settings = Settings(database_url=database_url, state_dir=tmp_path / "state",
                        api_token=TOKEN)
    runtime = Runtime.build(settings, discover_packs(), hosts=HostsSettings(**hosts))
    with TestClient(create_app(runtime)) as client:
        yield Hosts(client, runtime)


@pytest.fixture
def hosts_app(tmp_path: Path, database_url: str) -> Iterator[Hosts]:
    """The hosts app on each database kind."""
    yield from make_hosts(tmp_path, database_url)


@pytest.fixture
def hosts_sqlite(tmp_path: Path, sqlite_url: str) -> Iterator[Hosts]:
    """The hosts app on SQLite (for rules, not dialects)."""
    yield from make_hosts(tmp_path, sqlite_url)


@pytest.fixture
def now() -> float:
    """The wall clock at the start of the test (seconds)."""
    return time.time()
