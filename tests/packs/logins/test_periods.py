"""Period labels equal pandas' Grouper defaults; every overlapping period is listed once."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from kpiflow.packs.logins.periods import Grain, period_of, periods

PANDAS = {Grain.D: "D", Grain.W: "W", Grain.M: "ME", Grain.Q: "QE", Grain.Y: "YE"}


@pytest.mark.parametrize("grain", list(Grain))
def test_labels_equal_pandas_grouper(grain: Grain) -> None:
    days = [date(2023, 12, 20) + timedelta(days=i) for i in range(500)]
    frame = pd.DataFrame({"t": pd.to_datetime(days), "n": range(len(days))}).set_index("t")
    grouped = frame.groupby(pd.Grouper(freq=PANDAS[grain])).n.first()
    expected = {frame.index[i].date(): label.date() for label, i in grouped.items()}
    for first_day, label in expected.items():
        assert period_of(first_day, grain).last == label
    assert [p.last for p in periods(days[0], days[-1], grain)] == [
        label.date() for label in grouped.index]


def test_week_end_is_configurable_like_pandas_w_wed() -> None:
    days = pd.date_range("2024-01-01", "2024-03-01", freq="D")
    grouped = pd.Series(1, index=days).groupby(pd.Grouper(freq="W-WED")).sum()
    assert [p.last for p in periods(date(2024, 1, 1), date(2024, 3, 1), Grain.W, "WED")] == [
        t.date() for t in grouped.index]


def test_period_lengths() -> None:
    assert period_of(date(2024, 2, 10), Grain.M).days == 29
    assert period_of(date(2023, 2, 10), Grain.M).days == 28
    assert period_of(date(2024, 5, 1), Grain.Q).days == 91
    assert period_of(date(2024, 5, 1), Grain.Y).days == 366
    assert period_of(date(2024, 1, 3), Grain.W).first == date(2024, 1, 1)
