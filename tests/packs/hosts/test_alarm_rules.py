"""RED/AMBER rules on constructed series, against a plain-Python reference of the fit."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kpiflow.packs.hosts.alarms import (
    AMBER,
    OK,
    RED,
    Rules,
    RunningFit,
    SeriesState,
    fit,
    step,
)

RULES = Rules()


def run(values: list[float], step_s: float = 10.0, t0: float = 1_000_000.0):
    ts = [t0 + i * step_s for i in range(len(values))]
    return step(SeriesState(), ts, values, RULES)


def reference_fit(ts: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Slope per second, intercept at t=0 and R² by the normal equations, written out."""
    n = len(ts)
    st_, sy = sum(ts), sum(ys)
    stt = sum(t * t for t in ts)
    sty = sum(t * y for t, y in zip(ts, ys, strict=True))
    slope = (n * sty - st_ * sy) / (n * stt - st_ * st_)
    intercept = (sy - slope * st_) / n
    mean = sy / n
    ss_tot = sum((y - mean) ** 2 for y in ys)
    ss_res = sum((y - (intercept + slope * t)) ** 2 for t, y in zip(ts, ys, strict=True))
    return slope, intercept, 1 - ss_res / ss_tot


def test_rising_50_to_78_over_two_minutes_is_amber_with_evidence():
    values = [50 + 28 * i / 12 for i in range(13)]  # every 10 s for 2 minutes
    state, changes = run(values)
    assert state.state == AMBER
    assert [c.after for c in changes] == [AMBER]
    ts = [1_000_000.0 + i * 10 for i in range(13)]
    slope, intercept, r2 = reference_fit(ts, values)
    tr = state.trend
    assert tr is not None and tr.n == 13
    assert abs(tr.slope_per_min - slope * 60) < 1e-9 and abs(tr.slope_per_min - 14.0) < 1e-9
    assert abs(tr.r2 - r2) < 1e-9
    assert abs(tr.crossing - (80 - intercept) / slope) < 1e-6
    assert tr.crossing > ts[-1]


def test_flat_50_is_nothing():
    state, changes = run([50.0] * 30)
    assert state.state == OK and changes == []


def test_above_85_for_two_minutes_is_red_after_30_seconds():
    state, changes = run([86.0] * 13)
    assert state.state == RED
    assert [(c.before, c.after) for c in changes] == [(OK, RED)]
    assert changes[0].at == 1_000_000.0 + 30  # 30 s after the first sample above 80


def test_above_80_for_less_than_30_seconds_is_not_red():
    state, _ = run([50, 50, 50, 50, 85, 85, 85, 50], step_s=10)
    assert state.state != RED


def test_hysteresis_82_78_82_stays_red_and_clears_below_75():
    state, changes = run([82, 82, 82, 82, 78, 82, 78, 74])
    assert [c.after for c in changes] == [RED, OK]
    state, changes = run([82, 82, 82, 82, 78, 82])
    assert state.state == RED and [c.after for c in changes] == [RED]


def test_amber_needs_three_samples_and_30_seconds_of_prediction():
    # Two samples can not make a trend; a steep rise seen for 20 s is not yet AMBER.
    assert run([60.0, 70.0])[0].state == OK
    assert run([60.0, 65.0, 70.0])[0].state == OK
    # The line predicts a crossing from the third sample (t=20) on: AMBER 30 s later, at t=50.
    assert run([60.0, 65.0, 70.0, 72.0, 74.0])[0].state == OK
    state, changes = run([60.0, 65.0, 70.0, 72.0, 74.0, 76.0])
    assert state.state == AMBER and changes[0].at == 1_000_000.0 + 50


def test_late_batch_is_judged_by_its_own_timestamps():
    # Samples 10 s apart arriving in one late batch: judged as if they came on time.
    on_time = run([86.0] * 5)
    ts = [1_000_000.0 + i * 10 for i in range(5)]
    # The same values with timestamps packed into 20 s are not RED: only 20 s above.
    packed, _ = step(SeriesState(), [ts[0] + i * 5 for i in range(5)], [86.0] * 5, RULES)
    assert on_time[0].state == RED and packed.state == OK


def test_a_nearly_flat_line_never_crosses():
    assert fit([0.0, 10.0, 20.0], [50.0, 50.0, 50.0 + 1e-12], 80.0).crossing is None
    assert fit([0.0, 10.0, 20.0], [10.0, 20.0, 30.0], 80.0).crossing == 70.0


def test_fit_is_the_reference_on_a_noisy_series():
    ts = [0.0, 7.0, 15.0, 31.0, 40.0]
    ys = [10.0, 12.5, 11.0, 20.0, 19.0]
    tr = fit(ts, ys, 80.0)
    slope, intercept, r2 = reference_fit(ts, ys)
    assert abs(tr.slope_per_min - slope * 60) < 1e-9 and abs(tr.r2 - r2) < 1e-9
    assert abs(tr.crossing - (80 - intercept) / slope) < 1e-6


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=60), st.integers(0, 60))
def test_judging_in_two_evaluations_equals_judging_at_once(values, cut):
    ts = [1_000_000.0 + 10 * i for i in range(len(values))]
    whole, whole_changes = step(SeriesState(), ts, values, RULES)
    cut = min(cut, len(values))
    first, first_changes = step(SeriesState(), ts[:cut], values[:cut], RULES)
    second, second_changes = step(first, ts, values, RULES)
    assert second == whole
    assert first_changes + second_changes == whole_changes


def numpy_fit(ts_ms: list[int], ys: list[float], threshold: float
              ) -> tuple[float, float, float | None]:
    """Slope per minute, R² and crossing (Unix s) by numpy's least squares, time centred on the
    window's first sample (as the alarm rules fit it)."""
    t0 = ts_ms[0] / 1000
    x = np.array([(t - ts_ms[0]) / 1000 for t in ts_ms])
    y = np.array(ys)
    slope, intercept = np.polyfit(x, y, 1)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    ss_res = float(((y - (intercept + slope * x)) ** 2).sum())
    r2 = 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot
    crossing = t0 + (threshold - intercept) / slope if slope > 0 else None
    return float(slope) * 60, r2, crossing


series = st.lists(st.tuples(st.integers(1, 20_000), st.integers(0, 10_000)), min_size=2,
                  max_size=80)


@settings(max_examples=80, deadline=None)
@given(series, st.integers(10_000, 300_000))
def test_running_sums_fit_equals_numpy_least_squares_over_a_sliding_window(gaps_values, window_ms):
    """Samples enter one by one and leave the window as time moves on: after each, the line from
    the running sums is numpy's line through exactly the samples in the window."""
    rf = RunningFit()
    t = 1_796_000_000_000  # ms: real Unix times, where a naive sum of t² loses the slope
    held: list[tuple[int, float]] = []
    for gap, hundredths in gaps_values:
        t += gap
        v = hundredths / 100
        rf.add(t, v)
        rf.drop_before(t - window_ms)
        held = [(ht, hv) for ht, hv in [*held, (t, v)] if ht >= t - window_ms]
        assert len(rf) == len(held) and [p[0] for p in rf.points()] == [p[0] for p in held]
        assert all(abs(a[1] - b[1]) < 1e-9 for a, b in zip(rf.points(), held, strict=True))
        if len(held) < 2:
            continue
        got = rf.trend(80.0)
        slope, r2, crossing = numpy_fit([p[0] for p in held], [p[1] for p in held], 80.0)
        assert got.n == len(held)
        assert math.isclose(got.slope_per_min, slope, rel_tol=1e-6, abs_tol=1e-9)
        spread = max(p[1] for p in held) - min(p[1] for p in held)
        if spread > 0.05:  # R² of a near-flat series is noise in any float reference
            assert math.isclose(got.r2, r2, rel_tol=1e-6, abs_tol=1e-9)
        if crossing is not None and got.crossing is not None and abs(slope) > 1e-6:
            start = held[0][0] / 1000
            assert math.isclose(got.crossing - start, crossing - start, rel_tol=1e-6, abs_tol=1e-3)
        elif abs(slope) > 1e-6 and crossing is not None and abs(crossing - t / 1000) < 1e8:
            raise AssertionError(f"numpy crosses at {crossing}, the running fit never")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 600_000), st.floats(0, 100)), min_size=3, max_size=60),
       st.randoms(use_true_random=False))
def test_running_sums_do_not_depend_on_the_order_samples_came_in(points, rnd):
    """Exact integer sums: a late sample inserted in its place gives the same line, bit for bit."""
    in_order, shuffled = RunningFit(), RunningFit()
    for t, v in sorted(points):
        in_order.add(1_796_000_000_000 + t, v)
    for t, v in rnd.sample(points, len(points)):
        shuffled.add(1_796_000_000_000 + t, v)
    assert sorted(shuffled.points()) == sorted(in_order.points())  # ties may come in any order
    assert shuffled.trend(80.0) == in_order.trend(80.0)
