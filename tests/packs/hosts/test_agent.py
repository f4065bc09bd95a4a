"""The agent and the server as real processes: outages, kill -9 after a 2xx, a busy loop."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, func, select

from kpiflow.packs.hosts.agent import Sampler, primary_ip
from kpiflow.packs.hosts.tables import CPU, batches, samples
from tests.packs.hosts.conftest import AUTH, TOKEN

KPIFLOW = str(Path(sys.executable).parent / "kpiflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """`kpiflow serve` as a child process on a fixed port (so that it can be restarted)."""

    def __init__(self, database_url: str, state_dir: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [KPIFLOW, "--database-url", database_url, "--state-dir", str(state_dir),
                     "serve", "--port", str(self.port), "--no-schedule"]
        self.env = {**os.environ, "KPIFLOW_API_TOKEN": TOKEN}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out)

        def up() -> bool:
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait(up, 60, "the server to start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[Server, str]]:
    srv = Server(database_url, tmp_path / "state", tmp_path / "server.log")
    srv.start()
    yield srv, database_url
    if srv.proc is not None and srv.proc.poll() is None:
        srv.stop()


def _agent(url: str, state: Path, log: Path, interval: float = 0.5) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([KPIFLOW, "agent", "--server", url, "--interval", str(interval),
                                 "--token", TOKEN, "--state-dir", str(state)],
                                stdout=out, stderr=out)


def _count(url: str, table=batches) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_agent_survives_a_server_restart_without_loss_or_duplicates(server, tmp_path: Path):
    srv, db_url = server
    agent = _agent(srv.url, tmp_path / "agent", tmp_path / "agent.log")
    try:
        _wait(lambda: _count(db_url) >= 2, 60, "the first batches")
        srv.stop()
        queue = tmp_path / "agent" / "queue"
        _wait(lambda: len(list(queue.glob("*.json"))) >= 3, 60, "batches to queue up")
        srv.start()
        _wait(lambda: not list(queue.glob("*.json")) and _count(db_url) >= 6, 90,
              "the queue to drain")
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=60) == 0, (tmp_path / "agent.log").read_text()
    assert not list((tmp_path / "agent" / "queue").glob("*.json"))
    engine = create_engine(db_url)
    with engine.connect() as conn:
        s = samples.c
        ticks = sorted(conn.execute(select(s.ts_ms).distinct()).scalars())
        n_batches = conn.execute(select(func.count()).select_from(batches)).scalar_one()
        dupes = conn.execute(select(func.count()).select_from(
            select(s.host_id, s.pid, s.started_ms, s.name, s.resource, s.ts_ms)
            .group_by(s.host_id, s.pid, s.started_ms, s.name, s.resource, s.ts_ms)
            .having(func.count() > 1).subquery())).scalar_one()
    engine.dispose()
    assert dupes == 0
    assert len(ticks) == n_batches  # one instant per batch, each stored once
    # Every batch the agent made was delivered: none left, refused or dropped.
    last = (tmp_path / "agent.log").read_text().strip().splitlines()[-1]
    assert f"{n_batches} batch(es) sent, 0 queued, 0 refused, 0 dropped" in last, last
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 5_000, gaps  # it kept sampling (every 0.5 s) through the outage


def test_kill_9_right_after_a_2xx_loses_nothing(server, tmp_path: Path):
    srv, db_url = server
    acked = []
    now = time.time()
    for round_ in range(3):
        key = uuid.uuid4().hex
        body = {"key": key, "host_id": "h1", "hostname": "h1", "ip": "10.1.1.1",
                "samples": [{"ts": now + round_, "pid": i, "started": 1.0, "name": f"p{i}",
                             "cpu": 1.0, "mem": 2.0} for i in range(200)]}
        r = httpx.post(srv.url + "/api/v1/hosts/samples", json=body, headers=AUTH, timeout=30)
        assert r.status_code == 200
        srv.stop(signal.SIGKILL)  # at once, after the answer
        acked.append(key)
        srv.start()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        keys = set(conn.execute(select(batches.c.batch_key)).scalars())
        n = conn.execute(select(func.count()).select_from(samples)).scalar_one()
    engine.dispose()
    assert set(acked) <= keys and n == 3 * 200 * 2


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, read from /proc directly (independent of psutil)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_busy_loop_shows_up_busy(server, tmp_path: Path):
    srv, db_url = server
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    agent = _agent(srv.url, tmp_path / "agent", tmp_path / "agent.log", interval=1.0)
    try:
        started_ms = round(psutil.Process(busy.pid).create_time() * 1000)
        s = samples.c

        def seen() -> list[tuple[int, float]]:
            engine = create_engine(db_url)
            try:
                with engine.connect() as conn:
                    return [tuple(r) for r in conn.execute(select(s.ts_ms, s.value).where(
                        s.pid == busy.pid, s.started_ms == started_ms, s.resource == CPU))]
            finally:
                engine.dispose()

        _wait(lambda: len(seen()) >= 1, 240, "a first sample of the busy loop")
        t0, cpu0 = time.time(), _cpu_seconds(busy.pid)
        _wait(lambda: len(seen()) >= 6, 120, "samples of the busy loop")
        t1, cpu1 = time.time(), _cpu_seconds(busy.pid)
        values = [v for t, v in seen() if t0 * 1000 <= t <= t1 * 1000]
    finally:
        busy.kill()
        busy.wait()
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
    # What the loop really got of the whole machine over the same time (the shared test machine
    # gives it less than a core): the agent's values must agree, and can never be the seed's 0.
    actual = 100 * (cpu1 - cpu0) / (t1 - t0) / (psutil.cpu_count() or 1)
    assert values and min(values) > 0, values
    mean = sum(values) / len(values)
    assert 0.5 * actual <= mean <= 1.5 * actual + 1, (values, actual)


def test_sampler_keeps_process_objects_and_floor_adds_other_row():
    sampler = Sampler(floor=50.0)
    rows = sampler.sample(time.time())
    assert rows[-1]["pid"] == -1 and rows[-1]["name"] == "other"
    assert all((r["cpu"] or 0) > 50 or r["mem"] > 50 for r in rows[:-1])
    me = (os.getpid(), psutil.Process().create_time())
    assert me in sampler.procs


def test_primary_ip_is_an_address_of_this_host():
    ip = primary_ip("http://127.0.0.1:8000")
    mine = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs}
    assert ip in mine
