"""The alarm and flush jobs in their own processes: `kpiflow serve` starts, restarts and stops
the children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, func, select

from kpiflow.packs.hosts.tables import parquet_files
from tests.packs.hosts.conftest import AUTH, TOKEN

KPIFLOW = str(Path(sys.executable).parent / "kpiflow")


def _wait(check: Callable[[], object], seconds: float, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _serve(database_url: str, tmp_path: Path, *flags: str, **env: str
           ) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with open(tmp_path / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [KPIFLOW, "--database-url", database_url, "--state-dir", str(tmp_path / "state"),
             "serve", "--port", str(port), *flags],
            env={**os.environ, "KPIFLOW_API_TOKEN": TOKEN, **env}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(up, 60, "the server to start")
    return proc, url


def _workers(server: subprocess.Popen[bytes], job: str = "alarms") -> list[psutil.Process]:
    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        at = cmd.index("hosts") if "hosts" in cmd else -1
        if cmd[at + 1 : at + 4] == ["run", job, "--every"] and child.status() != "zombie":
            found.append(child)
    return found


def _push_hot(url: str) -> None:
    now = time.time()
    samples = [{"ts": now - 120 + 10 * i, "pid": p, "started": 1000.0, "name": name, "cpu": v}
               for i in range(13) for p, (name, v) in enumerate((("hot", 86.0), ("calm", 10.0)))]
    r = httpx.post(url + "/api/v1/hosts/samples", headers=AUTH, json={
        "key": uuid.uuid4().hex, "host_id": "h1", "hostname": "h1", "ip": "10.0.0.1",
        "cores": 2, "interval": 10, "samples": samples})
    assert r.status_code == 200, r.text


def _files(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(parquet_files)).scalar_one())
    finally:
        engine.dispose()


def test_serve_runs_alarms_and_flush_in_children_it_restarts_and_stops(tmp_path: Path,
                                                                        sqlite_url: str):
    server, url = _serve(sqlite_url, tmp_path, KPIFLOW_HOSTS_ALARM_EVERY_SECONDS="1",
                         KPIFLOW_HOSTS_FLUSH_EVERY_SECONDS="1")
    try:
        first = _wait(lambda: _workers(server), 60, "the alarm worker child")
        assert isinstance(first, list) and len(first) == 1
        flusher = _wait(lambda: _workers(server, "flush"), 60, "the flush worker child")
        assert isinstance(flusher, list) and len(flusher) == 1
        # The jobs run nicer than the server (KPIFLOW_HOSTS_JOB_NICE, default 5): under a
        # full CPU requests go first.
        nicer = min(19, psutil.Process(server.pid).nice() + 5)
        for child in (first[0], flusher[0]):
            _wait(lambda c=child: c.nice() == nicer, 10, f"worker {child.pid} at nice {nicer}")
        _push_hot(url)
        _wait(lambda: httpx.get(url + "/ressources-usage/query-alarm/").json() == {"hot": "RED"},
              60, "the child to judge the batch RED")
        _wait(lambda: _files(sqlite_url) > 0, 60, "the flush child to write Parquet")
        # A worker that dies is started again (after 5 s).
        first[0].kill()
        again = _wait(lambda: [w for w in _workers(server) if w.pid != first[0].pid], 60,
                      "a new alarm worker")
        assert isinstance(again, list) and len(again) == 1
        worker = again[0]
        _wait(lambda: worker.nice() == nicer, 10, "the restarted worker to be as nice")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
    # Stopping the server stops its workers.
    for gone in (worker, flusher[0]):
        assert not psutil.pid_exists(gone.pid) or gone.status() == psutil.STATUS_ZOMBIE


def test_no_child_without_the_schedule_or_with_the_in_server_scheduler(tmp_path: Path,
                                                                         sqlite_url: str):
    for flags, env in ((("--no-schedule",), {}),
                       ((), {"KPIFLOW_HOSTS_JOB_RUNNER": "scheduler",
                             "KPIFLOW_HOSTS_ALARM_EVERY_SECONDS": "1"})):
        server, url = _serve(sqlite_url, tmp_path, *flags, **env)
        try:
            time.sleep(2)
            assert _workers(server) == [] and _workers(server, "flush") == []
            if not flags:  # the in-server scheduler judges instead
                _push_hot(url)
                _wait(lambda u=url: httpx.get(u + "/ressources-usage/query-alarm/").json()
                      == {"hot": "RED"}, 60, "the in-server job to judge the batch RED")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=90)


def test_workers_end_when_their_server_is_killed(tmp_path: Path, sqlite_url: str) -> None:
    server, _ = _serve(sqlite_url, tmp_path, KPIFLOW_HOSTS_ALARM_EVERY_SECONDS="30",
                       KPIFLOW_HOSTS_FLUSH_EVERY_SECONDS="30")
    try:
        workers = _wait(lambda: (_workers(server) + _workers(server, "flush")
                                 if len(_workers(server) + _workers(server, "flush")) == 2
                                 else None), 60, "both worker children")
    finally:
        server.kill()  # -9: no hook runs, the children are orphaned
        server.wait(timeout=30)
    assert isinstance(workers, list)
    # Each looks at its parent every second, also while waiting out its 30 s interval.
    _wait(lambda: not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                          for w in workers), 30, "the orphaned workers to end")
