"""RED/AMBER alarm rules on one series (a process's cpu or mem), judged on sample timestamps.

RED: the value has been above `red` for at least `hold` seconds (sample time); it clears when a
sample falls below `clear` (hysteresis). AMBER: not RED, and the least-squares line over the
last `window` seconds (at least `min_samples` samples) crosses `red` within `horizon` seconds
of the sample, continuously for at least `hold` seconds. The rules are a state machine stepped
sample by sample, so a batch that arrives late is judged by when it was measured. Each series'
trend window is a `RunningFit`: the line comes from running sums, O(1) per sample.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

RED, AMBER, OK = "RED", "AMBER", "OK"
FAR_S = 10 * 365 * 86400.0
FAR_MS = round(FAR_S * 1000)
SCALE = 2**32  # values are summed as integers in units of 2**-32 percent (exact sums)


@dataclass(frozen=True)
class Rules:
    """Thresholds (percent) and durations (seconds) of the alarm rules."""

    red: float = 80.0
    clear: float = 75.0
    hold: float = 30.0
    window: float = 300.0
    horizon: float = 900.0
    min_samples: int = 3


@dataclass(frozen=True)
class Trend:
    """A least-squares line: slope per minute, R², samples, when it crosses the threshold."""

    slope_per_min: float
    r2: float
    n: int
    crossing: float | None  # Unix seconds; None when the line never reaches the threshold


@dataclass(frozen=True)
class SeriesState:
    """Where a series stands after its newest judged sample (kept between evaluations)."""

    state: str = OK
    since: float = 0.0
    red_pending: float | None = None
    amber_pending: float | None = None
    last: float = float("-inf")
    value: float = 0.0
    trend: Trend | None = None


@dataclass(frozen=True)
class Change:
    """A state change at a sample's own time, with the evidence it was decided on."""

    at: float
    before: str
    after: str
    value: float
    trend: Trend | None


def fit(ts: Sequence[float], values: Sequence[float], threshold: float) -> Trend:
    """Least-squares line through (ts, values) and when it reaches `threshold`."""
    n = len(ts)
    t0 = ts[0]
    xs = [t - t0 for t in ts]
    mx = sum(xs) / n
    my = sum(values) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True))
    syy = sum((y - my) ** 2 for y in values)
    slope = sxy / sxx if sxx > 0 else 0.0
    intercept = my - slope * mx
    # A flat series is explained perfectly by its flat line.
    r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy) if sxx > 0 else 0.0
    crossing = t0 + (threshold - intercept) / slope if slope > 0 else None
    if crossing is not None and not abs(crossing - t0) < FAR_S:
        crossing = None  # a nearly flat line "crosses" in millennia (or overflows): it does not
    return Trend(slope * 60.0, r2, n, crossing)


class RunningFit:
    """One series' trend window as running sums: adding or dropping a sample is O(1).

    Times are whole milliseconds and values are quantised to 2**-32 percent, so every sum is an
    exact integer: the fit does not depend on the order samples came and went in (judging in two
    evaluations equals judging at once, bit for bit) and a flat series has exactly zero
    variance. The samples stay in two int64 arrays, oldest first, to be dropped when they leave
    the window.
    """

    __slots__ = ("head", "n", "ref", "sx", "sxx", "sxy", "sy", "syy", "ts", "ys")

    def __init__(self) -> None:
        self.ts: array[int] = array("q")
        self.ys: array[int] = array("q")
        self.head = 0  # samples before it have left the window (compacted now and then)
        self.ref: int | None = None  # time origin of the sums (ms): keeps the integers small
        self.n = self.sx = self.sy = self.sxx = self.sxy = self.syy = 0

    def __len__(self) -> int:
        return self.n

    def newest_ms(self) -> int | None:
        """Time of the newest sample held, if any."""
        return self.ts[-1] if self.n else None

    def points(self) -> list[tuple[int, float]]:
        """The samples held (ms, value), oldest first."""
        return [(t, y / SCALE) for t, y in zip(self.ts[self.head:], self.ys[self.head:],
                                                strict=True)]

    def _count(self, t_ms: int, y: int, sign: int) -> None:
        if self.ref is None:
            self.ref = t_ms
        x = t_ms - self.ref
        self.n += sign
        self.sx += sign * x
        self.sy += sign * y
        self.sxx += sign * x * x
        self.sxy += sign * x * y
        self.syy += sign * y * y

    def add(self, t_ms: int, value: float) -> None:
        """Hold one sample (anywhere in time: a late one goes in its place)."""
        y = round(value * SCALE)
        if not self.n or t_ms >= self.ts[-1]:
            self.ts.append(t_ms)
            self.ys.append(y)
        else:  # a late sample: rare, so the O(window) insert is fine
            i = bisect_right(self.ts, t_ms, self.head)
            self.ts.insert(i, t_ms)
            self.ys.insert(i, y)
        self._count(t_ms, y, 1)

    def drop_before(self, t_ms: int) -> None:
        """Let the samples older than `t_ms` leave the window."""
        ts, head = self.ts, self.head
        while head < len(ts) and ts[head] < t_ms:
            self._count(ts[head], self.ys[head], -1)
            head += 1
        if head > 32 and 2 * head > len(ts):
            del self.ts[:head]
            del self.ys[:head]
            head = 0
        self.head = head

    def trend(self, threshold: float) -> Trend:
        """The least-squares line through the samples held (as `fit` computes it)."""
        n, sx, sy = self.n, self.sx, self.sy
        # n² times the centred sums, exact: translation-invariant, so the origin does not matter.
        sxx = n * self.sxx - sx * sx
        sxy = n * self.sxy - sx * sy
        syy = n * self.syy - sy * sy
        slope_ms = sxy / (sxx * SCALE) if sxx > 0 else 0.0  # percent per ms
        r2 = 1.0 if syy == 0 else (sxy * sxy) / (sxx * syy) if sxx > 0 else 0.0
        crossing = None
        if sxx > 0 and sxy > 0:
            assert self.ref is not None
            # Where the line reaches the threshold, relative to the oldest sample held, as one
            # exact fraction: x = mean_x + (thr - mean_y) / slope.
            start = self.ts[self.head] - self.ref
            num = (sx - n * start) * sxy + (round(threshold * SCALE) * n - sy) * sxx
            den = n * sxy
            if abs(num) < FAR_MS * den:
                crossing = (self.ts[self.head] + num / den) / 1000
        return Trend(slope_ms * 60_000, r2, n, crossing)


def judge(state: SeriesState, t: float, v: float, trend: Trend | None, rules: Rules
          ) -> tuple[SeriesState, Change | None]:
    """One sample through the RED/AMBER state machine, with the trend fitted up to it."""
    before = state.state
    red_pending = state.red_pending
    if v > rules.red:
        red_pending = t if red_pending is None else red_pending
    elif before == RED and v >= rules.clear:
        pass  # hysteresis: between clear and red, RED stays and its clock keeps running
    else:
        red_pending = None
    is_red = (before == RED and v >= rules.clear) or (
        red_pending is not None and t - red_pending >= rules.hold)
    crossing_soon = (trend is not None and trend.crossing is not None
                     and trend.crossing - t <= rules.horizon)
    amber_pending = (state.amber_pending if state.amber_pending is not None else t) \
        if crossing_soon else None
    is_amber = not is_red and amber_pending is not None and t - amber_pending >= rules.hold
    after = RED if is_red else AMBER if is_amber else OK
    new = SeriesState(after, state.since if after == before else t, red_pending, amber_pending,
                      t, v, trend)
    return new, (Change(t, before, after, v, trend) if after != before else None)


def advance(state: SeriesState, window: RunningFit, points: Iterable[tuple[int, float]],
            rules: Rules) -> tuple[SeriesState, list[Change]]:
    """Judge `points` (ms, value; sorted) newer than `state.last`; older ones (a late batch,
    or the trend window read back from the store) only join `window` as context. `window`
    holds the series' samples up to `state.last` and is advanced in place."""
    changes: list[Change] = []
    window_ms = round(rules.window * 1000)
    # Stored times are whole ms: compare in ms, exactly.
    last_ms = round(state.last * 1000) if state.last > float("-inf") else None
    for t_ms, v in points:
        window.add(t_ms, v)
        if last_ms is not None and t_ms <= last_ms:
            continue
        window.drop_before(t_ms - window_ms)
        trend = window.trend(rules.red) if len(window) >= rules.min_samples else None
        state, change = judge(state, t_ms / 1000, v, trend, rules)
        if change is not None:
            changes.append(change)
    return state, changes


def step(state: SeriesState, ts: Sequence[float], values: Sequence[float], rules: Rules
         ) -> tuple[SeriesState, list[Change]]:
    """Judge the samples of (ts, values) newer than `state.last`; older ones are context only.

    `ts` (Unix seconds) is sorted ascending and holds the trend window before the first new
    sample too.
    """
    changes: list[Change] = []
    window = RunningFit()
    window_ms = round(rules.window * 1000)
    for t, v in zip(ts, values, strict=True):
        t_ms = round(t * 1000)
        window.add(t_ms, v)
        if t <= state.last:
            continue
        window.drop_before(t_ms - window_ms)
        trend = window.trend(rules.red) if len(window) >= rules.min_samples else None
        state, change = judge(state, t, v, trend, rules)
        if change is not None:
            changes.append(change)
    return state, changes


def expire(state: SeriesState, now: float, stale_after: float) -> tuple[SeriesState, Change | None]:
    """A series in alarm with no sample for `stale_after` seconds is no longer in alarm."""
    if state.state == OK or now - state.last < stale_after:
        return state, None
    cleared = replace(state, state=OK, since=now, red_pending=None, amber_pending=None)
    return cleared, Change(now, state.state, OK, state.value, state.trend)
