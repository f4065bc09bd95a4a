"""GET /api/v1/jobs/: every job of every pack, its trigger, next run time and last result."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from kpiflow.config import Settings
from kpiflow.lifecycle import run_job
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app
from tests import clock_pack

TOKEN = "jobs-read-token"


def _runtime(tmp_path: Path, database_url: str, **extra: Any) -> Runtime:
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data",
                        state_dir=tmp_path / "state", **extra)
    return Runtime.build(settings, (clock_pack.pack,))


def _by_job(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/jobs/")
    assert response.status_code == 200, response.text
    return {f"{j['pack']}.{j['job']}": j for j in response.json()}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_jobs_list_triggers_and_the_last_run_of_each(tmp_path: Path, database_url: str) -> None:
    runtime = _runtime(tmp_path, database_url)
    with TestClient(create_app(runtime)) as client:
        before = client.get("/api/v1/jobs/").json()
        assert [(j["pack"], j["job"]) for j in before] == [
            ("clock", "tick"), ("clock", "nightly"), ("clock", "manual")]
        jobs = {j["job"]: j for j in before}
        assert jobs["tick"] | {"last_run": None} == {
            "pack": "clock", "job": "tick", "description": "Tick once an interval.",
            "every_seconds": 3600.0, "cron": None, "timezone": None, "next_run_time": None,
            "last_run": None}
        assert (jobs["nightly"]["cron"], jobs["nightly"]["timezone"]) == ("30 1 * * *",
                                                                         "Europe/Athens")
        assert jobs["nightly"]["every_seconds"] is None
        assert (jobs["manual"]["every_seconds"], jobs["manual"]["cron"]) == (None, None)
        # not scheduled by this app, never run
        assert all(j["next_run_time"] is None and j["last_run"] is None for j in before)

        pack = clock_pack.pack
        first = run_job(runtime, pack, "tick")
        second = run_job(runtime, pack, "tick")
        assert first.counts() != second.counts()
        with pytest.raises(RuntimeError, match="nightly source unreachable"):
            run_job(runtime, pack, "nightly")
        after = _by_job(client)

    tick = after["clock.tick"]["last_run"]
    assert tick["status"] == "ok" and tick["error"] is None
    assert tick["counts"] == second.counts() == {"items": second.counts()["items"],
                                                 "seconds": 0.25}
    assert tick["finished_at"] is not None
    assert _moment(tick["finished_at"]) >= _moment(tick["started_at"])
    nightly = after["clock.nightly"]["last_run"]
    assert nightly["status"] == "failed"
    assert nightly["error"] == "nightly source unreachable"
    assert nightly["counts"] == {} and nightly["finished_at"] is not None
    assert after["clock.manual"]["last_run"] is None


def _next_local(now: datetime, zone: str, hour: int, minute: int) -> datetime:
    """The next wall-clock hour:minute in `zone` after `now` (plain datetime arithmetic)."""
    local = now.astimezone(ZoneInfo(zone))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour, minute=minute)
    return candidate


def test_next_run_times_come_from_the_running_scheduler(tmp_path: Path, sqlite_url: str) -> None:
    runtime = _runtime(tmp_path, sqlite_url)
    app = create_app(runtime, schedule=True)
    started = datetime.now(UTC)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while True:  # an interval job runs once at start; wait until that run has ended
            jobs = _by_job(client)
            last = jobs["clock.tick"]["last_run"]
            if (last is not None and last["status"] != "running") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        ticked = datetime.now(UTC)
        assert app.state.scheduler is not None
    assert app.state.scheduler is None  # stopped with the app

    tick = jobs["clock.tick"]
    assert tick["last_run"]["status"] == "ok"
    next_tick = _moment(tick["next_run_time"])
    assert started + timedelta(hours=1) - timedelta(seconds=2) <= next_tick
    assert next_tick <= ticked + timedelta(hours=1)
    nightly = _moment(jobs["clock.nightly"]["next_run_time"])
    assert nightly == _next_local(started, "Europe/Athens", 1, 30)
    assert jobs["clock.nightly"]["last_run"] is None  # not due yet
    assert jobs["clock.manual"]["next_run_time"] is None


def test_every_job_of_every_installed_pack_is_listed(tmp_path: Path, sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path / "data",
                        state_dir=tmp_path / "state")
    runtime = Runtime.build(settings, discover_packs())
    with TestClient(create_app(runtime)) as client:
        listed = client.get("/api/v1/jobs/").json()
    expected = []
    for pack in runtime.packs:
        pack_settings = runtime.settings_for(pack)
        for job in pack.jobs:
            interval = job.every(pack_settings) if job.every and not job.cron else None
            every = interval.total_seconds() if interval is not None else None
            expected.append((pack.name, job.name, job.description, every,
                             job.cron(pack_settings) if job.cron else None))
    assert len(expected) >= 2
    assert [(j["pack"], j["job"], j["description"], j["every_seconds"], j["cron"])
            for j in listed] == expected


def test_jobs_are_a_read_behind_the_read_token(tmp_path: Path, sqlite_url: str) -> None:
    runtime = _runtime(tmp_path, sqlite_url, api_token=TOKEN, api_token_reads=True)
    with TestClient(create_app(runtime)) as client:
        assert client.get("/api/v1/jobs/").status_code == 401
        allowed = client.get("/api/v1/jobs/", headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200 and len(allowed.json()) == 3
