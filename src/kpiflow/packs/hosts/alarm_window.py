"""The alarm job's memory of each series' recent samples, kept between evaluations in-process.

Judging a series needs its last trend window of samples (5 minutes). Re-reading that window for
every series at every evaluation is most of the job's cost (1.8 M rows at 100 hosts x 300
processes), so the process keeps what it judged. The cache is trusted only if the last commit of
the job was this process's: each commit moves the `alarm-window` checkpoint to a fresh token
in the same transaction, and a token that differs (another process judged, or a commit failed)
sends the job back to reading the window from the database.
"""

from __future__ import annotations

import threading
import uuid
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

SeriesKey = tuple[str, int, int, str, int]
CHECKPOINT = "alarm-window"


@dataclass
class Window:
    """Judged samples per series (ts in ms, values), oldest first, and the commit they match;
    complete from `covers_from` on (where the buffer was read from when it was filled)."""

    covers_from: int
    token: str | None = None
    series: dict[SeriesKey, tuple[array[int], array[float]]] = field(default_factory=dict)

    def points(self, key: SeriesKey) -> list[tuple[int, float]]:
        """The cached samples of one series."""
        ts, vs = self.series.get(key, (array("q"), array("d")))
        return list(zip(ts, vs, strict=True))

    def keep(self, key: SeriesKey, points: Iterable[tuple[int, float]], since_ms: int) -> None:
        """Remember a series' samples from `since_ms` on (points sorted by time)."""
        kept = [(t, v) for t, v in points if t >= since_ms]
        self.series[key] = (array("q", [t for t, _ in kept]), array("d", [v for _, v in kept]))

    def forget_older(self, before_ms: int) -> None:
        """Drop the series whose newest sample is older than `before_ms`."""
        for key in [k for k, (ts, _) in self.series.items() if not ts or ts[-1] < before_ms]:
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
