"""RED/AMBER alarm rules on one series (a process's cpu or mem), judged on sample timestamps.

RED: the value has been above `red` for at least `hold` seconds (sample time); it clears when a
sample falls below `clear` (hysteresis). AMBER: not RED, and the least-squares line over the
last `window` seconds (at least `min_samples` samples) crosses `red` within `horizon` seconds
of the sample, continuously for at least `hold` seconds. The rules are a state machine stepped
sample by sample, so a batch that arrives late is judged by when it was measured.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace

RED, AMBER, OK = "RED", "AMBER", "OK"
FAR_S = 10 * 365 * 86400.0


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


def step(state: SeriesState, ts: Sequence[float], values: Sequence[float], rules: Rules
         ) -> tuple[SeriesState, list[Change]]:
    """Judge the samples of (ts, values) newer than `state.last`; older ones are context only.

    `ts` is sorted ascending and holds the trend window before the first new sample too.
    """
    changes: list[Change] = []
    start = bisect_left(ts, state.last)
    while start < len(ts) and ts[start] <= state.last:
        start += 1
    for i in range(start, len(ts)):
        t, v = ts[i], values[i]
        lo = bisect_left(ts, t - rules.window, 0, i + 1)
        trend = fit(ts[lo:i + 1], values[lo:i + 1], rules.red) if i + 1 - lo >= rules.min_samples \
            else None
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
        state = SeriesState(after, state.since if after == before else t, red_pending,
                            amber_pending, t, v, trend)
        if after != before:
            changes.append(Change(t, before, after, v, trend))
    return state, changes


def expire(state: SeriesState, now: float, stale_after: float) -> tuple[SeriesState, Change | None]:
    """A series in alarm with no sample for `stale_after` seconds is no longer in alarm."""
    if state.state == OK or now - state.last < stale_after:
        return state, None
    cleared = replace(state, state=OK, since=now, red_pending=None, amber_pending=None)
    return cleared, Change(now, state.state, OK, state.value, state.trend)
