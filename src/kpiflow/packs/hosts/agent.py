"""The host agent: sample every process with psutil, queue batches on disk, send them in order.

CPU is measured by psutil between two ticks on the same `Process` object (a fresh object's
first `cpu_percent()` is always 0, the seed's bug), divided by the core count so that 100 %
means the whole machine busy. A process is (pid, create time): a reused pid is a new process.
Batches are written to a bounded on-disk queue first and deleted only after a 2xx, so the
server may be away for hours; SIGTERM stops sampling, tries to send what is queued, and exits.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

log = logging.getLogger(__name__)

OTHER_PID = -1
MAX_BACKOFF_S = 60.0
ROUTE = "/api/v1/hosts/samples"


def _route_source(target: str, family: int) -> str | None:
    """The local address the kernel picks to reach `target` (a UDP connect sends nothing)."""
    try:
        for fam, _, _, _, addr in socket.getaddrinfo(target, 9, family, socket.SOCK_DGRAM):
            with socket.socket(fam, socket.SOCK_DGRAM) as sock:
                sock.connect(addr)
                return str(sock.getsockname()[0])
    except OSError:
        return None
    return None


def primary_ip(server: str) -> str:
    """The host's own address: the one it reaches the server from, unless that is loopback;
    then the one towards a documentation address (the default route); then any interface's."""
    host = urlsplit(server).hostname or ""
    for target, family in ((host, 0), ("192.0.2.1", socket.AF_INET),
                           ("2001:db8::1", socket.AF_INET6)):
        ip = _route_source(target, family) if target else None
        if ip is not None and not ipaddress.ip_address(ip.split("%")[0]).is_loopback:
            return ip.split("%")[0]
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return str(a.address)
    return "127.0.0.1"


def host_id(state_dir: Path) -> str:
    """A stable id for this host: /etc/machine-id, else one made once and kept in state_dir."""
    try:
        found = Path("/etc/machine-id").read_text().strip()
        if found:
            return found[:64]
    except OSError:
        pass
    path = state_dir / "host-id"
    if path.is_file():
        return path.read_text().strip()
    made = uuid.uuid4().hex
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(made + "\n")
    return made


class Sampler:
    """Keeps each process's `Process` object between ticks, so CPU is measured over the tick."""

    def __init__(self, floor: float | None = None) -> None:
        self.floor = floor
        self.cores = psutil.cpu_count() or 1
        self.procs: dict[tuple[int, float], psutil.Process] = {}
        self.sample(time.time())  # primes every process's CPU counter

    def sample(self, now: float) -> list[dict[str, Any]]:
        """One tick: cpu (share of the machine since the last tick) and mem of every process."""
        seen: dict[tuple[int, float], psutil.Process] = {}
        rows = []
        for proc in psutil.process_iter():
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    known = self.procs.get(key)
                    tracked = known or proc
                    cpu = tracked.cpu_percent(None)
                    row = {"ts": now, "pid": key[0], "started": key[1], "name": proc.name() or "?",
                           # a process new this tick has no CPU interval yet: memory only
                           "cpu": min(100.0, cpu / self.cores) if known else None,
                           "mem": min(100.0, tracked.memory_percent())}
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            seen[key] = tracked
            rows.append(row)
        self.procs = seen
        return self._floored(rows)

    def _floored(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.floor is None:
            return rows
        floor = self.floor
        kept = [r for r in rows if (r["cpu"] or 0.0) > floor or r["mem"] > floor]
        rest = [r for r in rows if not ((r["cpu"] or 0.0) > floor or r["mem"] > floor)]
        if rest:
            kept.append({"ts": rest[0]["ts"], "pid": OTHER_PID, "started": 0.0, "name": "other",
                         "cpu": min(100.0, sum(r["cpu"] or 0.0 for r in rest)),
                         "mem": min(100.0, sum(r["mem"] for r in rest))})
        return kept


class DiskQueue:
    """Batches as numbered JSON files; the oldest is dropped when the queue is over its bound."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.dropped = 0
        self.lock = threading.Lock()  # the sampler adds and drops while the sender deletes
        root.mkdir(parents=True, exist_ok=True)
        for stale in root.glob("*.tmp"):
            stale.unlink()
        self._next = max((int(p.stem) for p in self._files()), default=0) + 1

    def _files(self) -> list[Path]:
        return sorted(self.root.glob("[0-9]*.json"))

    def put(self, batch: dict[str, Any]) -> None:
        """Add a batch durably (temp file, fsync, rename), dropping the oldest if over bound."""
        with self.lock:
            self._put(batch)

    def _put(self, batch: dict[str, Any]) -> None:
        path = self.root / f"{self._next:012d}.json"
        self._next += 1
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(batch, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        files = self._files()
        total = sum(p.stat().st_size for p in files)
        while total > self.max_bytes and len(files) > 1:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)
            self.dropped += 1
            log.warning("queue over %d bytes: dropped the oldest batch %s", self.max_bytes,
                        oldest.name)

    def remove(self, path: Path, to: Path | None = None) -> None:
        """Take a sent (or refused, moved to `to`) batch off the queue."""
        with self.lock:
            if to is None:
                path.unlink(missing_ok=True)
            elif path.exists():
                os.replace(path, to)

    def pending(self) -> Iterator[Path]:
        """Queued batch files, oldest first."""
        yield from self._files()

    def __len__(self) -> int:
        return len(self._files())


@dataclass
class AgentConfig:
    """What `kpiflow agent` was asked to do."""

    server: str
    interval: float = 10.0
    token: str | None = None
    floor: float | None = None
    state_dir: Path = Path(".kpiflow-agent")
    queue_bytes: int = 100 * 1024 * 1024
    timeout: float = 10.0


class Agent:
    """Samples every `interval` seconds and sends queued batches, oldest first, with back-off."""

    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.stop = threading.Event()
        self.wake = threading.Event()  # a batch was queued
        self.queue = DiskQueue(cfg.state_dir / "queue", cfg.queue_bytes)
        self.host = {"host_id": host_id(cfg.state_dir), "hostname": socket.gethostname(),
                     "ip": primary_ip(cfg.server), "cores": psutil.cpu_count() or 1,
                     "interval": cfg.interval}
        headers = {} if not cfg.token else {"Authorization": f"Bearer {cfg.token}"}
        self.client = httpx.Client(base_url=cfg.server.rstrip("/"), headers=headers,
                                   timeout=cfg.timeout)
        self.sent = 0
        self.rejected = 0

    def tick(self, sampler: Sampler) -> None:
        """Sample once and queue the batch."""
        now = time.time()
        self.queue.put({"key": uuid.uuid4().hex, **self.host, "samples": sampler.sample(now)})

    def drain(self) -> bool:
        """Send queued batches oldest first; False at the first that could not be delivered."""
        for path in self.queue.pending():
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue  # dropped meanwhile by the queue's bound
            try:
                resp = self.client.post(ROUTE, content=body,
                                        headers={"Content-Type": "application/json"})
            except (httpx.HTTPError, OSError) as exc:
                log.warning("server unreachable (%s): %d batch(es) wait in the queue", exc,
                            len(self.queue))
                return False
            if resp.is_success:
                self.queue.remove(path)
                self.sent += 1
            elif resp.status_code in (413, 422):
                # Refused for its content: resending cannot help; keep it aside for inspection.
                rejected = self.queue.root.parent / "rejected"
                rejected.mkdir(exist_ok=True)
                self.queue.remove(path, rejected / path.name)
                self.rejected += 1
                log.error("server refused batch %s: %s", path.name, resp.text[:500])
            else:
                log.warning("server answered %d (%s): will retry", resp.status_code,
                            resp.text[:200])
                return False
        return True

    def _sample_loop(self, sampler: Sampler) -> None:
        """Tick every interval, whatever the sender is doing (a hung server must not stop it)."""
        next_tick = time.monotonic() + self.cfg.interval
        while not self.stop.wait(max(0.0, next_tick - time.monotonic())):
            try:
                self.tick(sampler)
            except OSError as exc:  # a full disk: this tick is lost, say so, keep going
                log.error("could not queue a batch: %s", exc)
            next_tick += self.cfg.interval
            if next_tick < time.monotonic():  # the machine stalled: skip the missed ticks
                next_tick = time.monotonic() + self.cfg.interval
            self.wake.set()

    def run(self) -> None:
        """Sample and send until `stop` is set (SIGTERM), then send what is queued and return."""
        sampler = Sampler(self.cfg.floor)
        ticker = threading.Thread(target=self._sample_loop, args=(sampler,), name="sampler")
        ticker.start()
        backoff = 0.0
        while not self.stop.is_set():
            if len(self.queue) and not self.drain():
                backoff = min(MAX_BACKOFF_S, max(1.0, backoff * 2))
                self.stop.wait(backoff)
                continue
            backoff = 0.0
            self.wake.wait(self.cfg.interval)
            self.wake.clear()
        ticker.join()
        self.drain()
        self.client.close()
