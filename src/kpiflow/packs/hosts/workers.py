"""The alarm and flush jobs in processes of their own: `kpiflow hosts run alarms|flush --every
N`, which `kpiflow serve` starts as children when `hosts_job_runner` is `process` (the default).

Evaluating alarms is pure Python (a state machine stepped per sample) and a flush marks and
rolls up a minute of samples: in the server's process they hold the GIL for seconds at 6,000
values/s and every request waits behind them. In a child each has its own interpreter; the
server only starts them, restarts one that dies, and stops them.
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
BUSY_RETRY_S = 1.0  # the pack's lock was busy (another job's pass): try again this soon
PARENT_CHECK_S = 1.0  # how often a worker looks whether its server is still there
CHILD_JOBS = ("alarms", "flush")  # retention (hourly, short) stays in the server's scheduler


def run_every(rt: Runtime, pack: Pack[Any], job: str, seconds: float, stop: threading.Event,
              parent: int | None = None) -> int:
    """Run `job` every `seconds` until `stop` is set (a failed pass is logged, the loop goes on)
    or, with `parent`, until that process is no longer this one's parent; returns the passes
    run. One process keeps its alarm window between passes."""
    from kpiflow.lifecycle import run_job

    passes = 0
    while not stop.is_set() and _parent_alive(parent, stop):
        started = time.monotonic()
        try:
            run_job(rt, pack, job)
        except LockBusy as exc:
            # Another job of the pack holds the lock (a flush of a minute of samples takes
            # seconds): retry soon rather than a whole interval later.
            log.info("hosts %s waits: %s", job, exc)
            _pause(min(seconds, BUSY_RETRY_S), stop, parent)
            continue
        except KpiflowError as exc:
            log.warning("hosts %s failed: %s", job, exc)
        passes += 1
        _pause(max(0.0, seconds - (time.monotonic() - started)), stop, parent)
    return passes


def _parent_alive(parent: int | None, stop: threading.Event) -> bool:
    """False (and `stop` set) once `parent` is gone: a server killed with -9 cannot stop its
    workers, and an orphan would go on judging beside the next server's own workers."""
    if parent is not None and os.getppid() != parent:
        stop.set()
        return False
    return True


def _pause(seconds: float, stop: threading.Event, parent: int | None) -> None:
    """Wait `seconds` or until stopped, looking at the parent every second."""
    deadline = time.monotonic() + seconds
    while _parent_alive(parent, stop) and not stop.wait(
            min(PARENT_CHECK_S, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            return


def _lower_priority(pid: int, nice: int) -> None:
    """Make `pid` `nice` steps nicer than this process (set from here, not with a pre-exec hook,
    which is unsafe in a threaded server; the child's first instants run unchanged)."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, pid,
                           min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
        except OSError as exc:  # the child already ended: its supervisor restarts it
            log.debug("could not lower the priority of worker %d: %s", pid, exc)


class _Child:
    """One supervised `kpiflow hosts run <job> --every` child of a server."""

    def __init__(self, job: str, cmd: list[str], env: dict[str, str], nice: int) -> None:
        self.job, self.cmd, self.env, self.nice = job, cmd, env, nice
        self.stop = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._supervise, name="hosts-" + job, daemon=True)

    def _supervise(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if self.stop.is_set():
                    return
                self.proc = subprocess.Popen(self.cmd, env=self.env)
                _lower_priority(self.proc.pid, self.nice)
            code = self.proc.wait()
            if not self.stop.is_set():
                log.warning("hosts %s worker exited with %s; restarting in %.0f s",
                            self.job, code, RESTART_S)
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
    """`serve` hook: start the alarm and flush workers (only when this server runs the jobs)."""
    ps = ctx.pack_settings
    if not ctx.schedule or ps.hosts_job_runner != "process":
        return
    every = {"alarms": ps.hosts_alarm_every_seconds, "flush": ps.hosts_flush_every_seconds}
    # The URL goes by environment, not argv: a password would show in `ps`.
    env = {**os.environ, "DATABASE_URL": ctx.settings.database_url}
    children = [_Child(job, [sys.executable, "-c", "from kpiflow.cli import main; main()",
                             "--state-dir", str(ctx.settings.resolved_state_dir), "hosts", "run",
                             job, "--every", str(every[job]), "--parent-pid", str(os.getpid())],
                       env, ps.hosts_job_nice) for job in CHILD_JOBS]
    ctx.resources["workers"] = children
    for child in children:
        child.thread.start()


def stop(ctx: ServeContext[HostsSettings]) -> None:
    """`serve` hook: stop the workers, letting each end its pass."""
    for child in ctx.resources.pop("workers", []):
        child.close()
