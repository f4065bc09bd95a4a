"""`kpiflow serve` as a real process: API up, scheduled passes pick up new files."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import KPIFLOW, free_port

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample-data" / "network"


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


@pytest.mark.xdist_group("serve")
def test_serve_runs_scheduled_passes(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, tmp_path / "data")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "DATA_DIR": str(tmp_path / "data"), "KPIFLOW_NETWORK_SCHEDULE_SECONDS": "5",
           "KPIFLOW_TOP_N": "3"}
    proc = subprocess.Popen([str(KPIFLOW), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        hourly = wait_for(lambda: httpx.get(f"{base}/api/v1/services-kpis/",
                                            params={"interval": 60}).json())
        assert [x["total_bytes"] for x in hourly] == [32200, 23000, 18520]
        # A late part file for the first interval is picked up by the next scheduled pass.
        late = tmp_path / "data" / "late" / "ipflow_data.ts-1488355500000.3.txt"
        late.parent.mkdir()
        late.write_text("interval_start_timestamp,interval_end_timestamp,msisdn,bytes_uplink,"
                        "bytes_downlink,service_id,cell_id\n"
                        "1488355200000,1488355500000,42,100000,0,9,77\n")
        updated = wait_for(lambda: [x for x in httpx.get(
            f"{base}/api/v1/services-kpis/", params={"interval": 60}).json()
            if x["service_id"] == 9])
        assert updated[0]["total_bytes"] == 100000 and updated[0]["rank"] == 1
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode in (0, -15), output
    assert "pass network.ingest ok in " in output  # the one line per pass
    assert "alembic" not in output and "executed successfully" not in output  # no noise


@pytest.mark.xdist_group("serve")
def test_serve_on_a_busy_port_says_so_before_anything_runs(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE, tmp_path / "data")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([str(KPIFLOW), "serve", "--port", str(port)], env=env,
                              capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (another server "
        "there? pick another with --port or KPIFLOW_API_PORT)"]
    assert not (tmp_path / ".kpiflow").exists()  # no pass ran: it would have written state


@pytest.mark.xdist_group("serve")
def test_serve_logs_json_lines(tmp_path: Path) -> None:
    import json

    shutil.copytree(SAMPLE, tmp_path / "data")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}",
           "DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([str(KPIFLOW), "--log-format", "json", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    try:
        wait_for(lambda: [r for r in httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/").json()
                          if r["status"] == "ok"], timeout=180)  # the machine may be busy
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    lines = [json.loads(line) for line in output.splitlines()]
    [one] = [x for x in lines if x.get("pack") == "network"]
    assert (one["pack"], one["job"], one["outcome"], one["level"]) == (
        "network", "ingest", "ok", "info")
    assert one["counts"]["files_new"] == 4 and one["seconds"] > 0


@pytest.mark.xdist_group("serve")
def test_scheduled_pass_and_manual_run_never_double_count(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from kpiflow.packs.network import generate
    from tests.packs.network import reference
    from tests.packs.network.tables_read import read_kpis

    data = tmp_path / "data"
    generate.generate(data, datetime(2026, 3, 1, tzinfo=UTC), 2, 30_000, 2, seed=8)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(data),
           "KPIFLOW_NETWORK_SCHEDULE_SECONDS": "5", "KPIFLOW_TOP_N": "4"}
    port = free_port()
    server = subprocess.Popen([str(KPIFLOW), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200)
        outcomes = []
        for _ in range(3):  # manual runs while the scheduler's passes come and go
            manual = subprocess.run([str(KPIFLOW), "network", "run"], env=env,
                                    capture_output=True, cwd=tmp_path)
            outcomes.append((manual.returncode, manual.stderr.decode()))
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/api/v1/coverage/").json())
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode()
    for code, err in outcomes:
        assert code == 0 or "another network pass is running" in err, err
    assert "Traceback" not in log, log
    assert read_kpis(url) == reference.kpis([p.read_bytes() for p in data.rglob("*.txt")], 4)


def test_the_listening_socket_sends_small_writes_at_once() -> None:
    """TCP_NODELAY on the listener (accepted connections inherit it on Linux)."""
    from kpiflow.cli import _bound_socket

    sock = _bound_socket("127.0.0.1", free_port())
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


@pytest.mark.xdist_group("serve")
def test_keep_alive_responses_do_not_wait_for_the_delayed_ack(tmp_path: Path) -> None:
    """uvicorn writes headers and body apart: with Nagle on, every response after the first on
    a keep-alive connection waited ~40 ms for the client's delayed ACK."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    proc = subprocess.Popen([KPIFLOW, "serve", "--port", str(port), "--no-schedule"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200, 60)
        with socket.create_connection(("127.0.0.1", port)) as conn:
            took = []
            for _ in range(9):
                t0 = time.perf_counter()
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                got = b""
                while not (b"\r\n\r\n" in got and got.endswith(b"}")):
                    got += conn.recv(65536)
                took.append(time.perf_counter() - t0)
        assert sorted(took)[4] < 0.03, took  # the median; with the stall every one is >= 40 ms
    finally:
        proc.terminate()
        proc.wait(timeout=60)
