"""The alarm job's memory of each series' recent samples, kept between evaluations in-process.

Judging a series needs its last trend window of samples (5 minutes). Re-reading that window for
every series at every evaluation is most of the job's cost (1.8 M rows at 100 hosts x 300
processes), so the process keeps what it judged, as running sums (`alarms.RunningFit`). The
cache is trusted only if the last commit of the job was this process's: each commit moves the
`alarm-window` checkpoint to a fresh token in the same transaction, and a token that differs
(another process judged, or a commit failed) sends the job back to reading the window from the
database.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from kpiflow.packs.hosts.alarms import RunningFit

SeriesKey = tuple[str, int, int, str, int]
CHECKPOINT = "alarm-window"


@dataclass
class Window:
    """Each series' trend window as a `RunningFit` (judged samples, oldest first), and the
    commit it matches; complete from `covers_from` on (where the buffer was read from when it
    was filled). An evaluation advances the fits in place: it clears `token` first, so a
    failed evaluation leaves a window no one trusts."""

    covers_from: int
    token: str | None = None
    series: dict[SeriesKey, RunningFit] = field(default_factory=dict)

    def fit_of(self, key: SeriesKey) -> RunningFit:
        """The series' running fit (empty for a series not seen yet)."""
        fit = self.series.get(key)
        if fit is None:
            fit = self.series[key] = RunningFit()
        return fit

    def forget_older(self, before_ms: int) -> None:
        """Drop the series whose newest sample is older than `before_ms`."""
        for key in [k for k, f in self.series.items()
                    if (newest := f.newest_ms()) is None or newest < before_ms]:
            del self.series[key]


_windows: dict[str, Window] = {}
_lock = threading.Lock()


def window_for(database: str, token: str | None) -> Window | None:
    """This process's window for a database, if it matches the committed token."""
    with _lock:
        w = _windows.get(database)
    return w if w is not None and w.token is not None and w.token == token else None


def remember(database: str, window: Window) -> None:
    """Keep `window` (its token committed) for the next evaluation."""
    with _lock:
        _windows[database] = window


def new_token() -> str:
    """A token for the next commit."""
    return uuid.uuid4().hex
