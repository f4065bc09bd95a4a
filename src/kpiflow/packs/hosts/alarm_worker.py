"""The alarm job in a process of its own: `kpiflow hosts run alarms --every N`, which `kpiflow
serve` starts as a child when `hosts_alarm_runner` is `process` (the default).

Evaluating alarms is pure Python (a state machine stepped per sample): in the server's process
it holds the GIL for seconds at 6,000 values/s and every request waits behind it. In a child it
has its own interpreter; the server only starts it, restarts it if it dies, and stops it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from kpiflow.errors import KpiflowError, LockBusy
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.registry import Pack, ServeContext

if TYPE_CHECKING:
    from kpiflow.runtime import Runtime

log = logging.getLogger(__name__)

RESTART_S = 5.0  # wait before restarting a child that died
STOP_S = 60.0  # a child gets this long to finish its pass on SIGTERM


def run_every(rt: Runtime, pack: Pack[Any], job: str, seconds: float, stop: threading.Event
              ) -> int:
    """Run `job` every `seconds` until `stop` is set (a failed pass is logged, the loop goes on);
    returns the passes run. One process keeps its alarm window between passes."""
    from kpiflow.lifecycle import run_job

    passes = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            run_job(rt, pack, job)
        except LockBusy as exc:
            log.info("hosts %s skipped: %s", job, exc)
        except KpiflowError as exc:
            log.warning("hosts %s failed: %s", job, exc)
        passes += 1
        stop.wait(max(0.0, seconds - (time.monotonic() - started)))
    return passes


class _Child:
    """The supervised `kpiflow hosts run alarms --every` child of one server."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.cmd, self.env = cmd, env
        self.stop = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._supervise, name="hosts-alarms", daemon=True)

    def _supervise(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if self.stop.is_set():
                    return
                self.proc = subprocess.Popen(self.cmd, env=self.env)
            code = self.proc.wait()
            if not self.stop.is_set():
                log.warning("hosts alarm worker exited with %s; restarting in %.0f s", code,
                            RESTART_S)
                self.stop.wait(RESTART_S)

    def close(self) -> None:
        with self.lock:
            self.stop.set()
            proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.thread.join(timeout=STOP_S)


def start(ctx: ServeContext[HostsSettings]) -> None:
    """`serve` hook: start the alarm worker child (only when this server runs the jobs)."""
    ps = ctx.pack_settings
    if not ctx.schedule or ps.hosts_alarm_runner != "process":
        return
    cmd = [sys.executable, "-c", "from kpiflow.cli import main; main()",
           "--state-dir", str(ctx.settings.resolved_state_dir), "hosts", "run", "alarms",
           "--every", str(ps.hosts_alarm_every_seconds)]
    # The URL goes by environment, not argv: a password would show in `ps`.
    child = _Child(cmd, {**os.environ, "DATABASE_URL": ctx.settings.database_url})
    ctx.resources["alarm_worker"] = child
    child.thread.start()


def stop(ctx: ServeContext[HostsSettings]) -> None:
    """`serve` hook: stop the alarm worker child, letting it end its pass."""
    child = ctx.resources.pop("alarm_worker", None)
    if isinstance(child, _Child):
        child.close()
