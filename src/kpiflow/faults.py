"""Crash points for the kill tests: `KPIFLOW_CRASH_AT=<point>[:<n>]` makes the process kill
itself with SIGKILL the n-th time (default 1st) it reaches `<point>`.

A real `kill -9` at an exact place in the pass, so that crash-recovery tests are deterministic.
Unset (always, outside tests) it costs one comparison per checkpoint. It reads the environment
directly, unlike every other setting, because it belongs to no user-facing configuration.
"""

from __future__ import annotations

import os
import signal


class CrashPoints:
    """Counts arrivals at named points and kills the process at the configured one."""

    def __init__(self, spec: str | None) -> None:
        point, _, nth = (spec or "").partition(":")
        self.point = point or None
        self.nth = int(nth) if nth else 1
        self.seen = 0

    def __call__(self, point: str) -> None:
        """Mark arrival at `point`."""
        if point != self.point:
            return
        self.seen += 1
        if self.seen == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)


def from_environment() -> CrashPoints:
    """Crash points as configured for this process (none unless KPIFLOW_CRASH_AT is set)."""
    return CrashPoints(os.environ.get("KPIFLOW_CRASH_AT"))
