"""An independent reference: sample each store's state minute by minute and compare.

The reference does not expand hours into intervals: for every minute of the week it asks "is the
store's local wall-clock time inside one of its shifts?" (zoneinfo on the instant) and "what did
the latest poll at or before this minute say (else the first poll)?". Every input time is on a
whole minute and shift edges avoid the 01:00-03:00 local hours in which the chosen zones change
their clocks, so sampling at minute starts is exact and both definitions of a shift agree.
"""

from __future__ import annotations

import bisect
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpiflow.packs.stores import queries
from kpiflow.packs.stores import report as rep
from kpiflow.store.db import make_engine

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London",
         "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Honolulu", None]
BASES = [datetime(2023, 3, 12, 12, tzinfo=UTC), datetime(2023, 11, 5, 12, tzinfo=UTC),
         datetime(2023, 3, 26, 12, tzinfo=UTC), datetime(2023, 4, 2, 12, tzinfo=UTC),
         datetime(2023, 1, 23, 17, tzinfo=UTC)]
MINUTE = timedelta(minutes=1)
clock = st.one_of(st.integers(0, 59), st.integers(180, 1439)).map(lambda m: m * 60)
end_clock = st.one_of(clock, st.just(86_399))
shift = st.tuples(st.integers(0, 6), clock, end_clock)
store = st.fixed_dictionaries({
    "zone": st.sampled_from(ZONES),
    "hours": st.one_of(st.just([]), st.lists(shift, min_size=1, max_size=5)),
    "polls": st.lists(st.tuples(st.integers(-9 * 1440, 1440), st.booleans()),
                      min_size=1, max_size=40, unique_by=lambda p: p[0]),
})


def is_open(local: datetime, hours: list[tuple[int, int, int]]) -> bool:
    """Is this local wall-clock time inside a shift (no rows: always)?"""
    if not hours:
        return True
    secs = local.hour * 3600 + local.minute * 60 + local.second
    weekday = local.weekday()
    for day, start, end in hours:
        end = 86_400 if end == 86_399 else end
        if end > start:
            if day == weekday and start <= secs < end:
                return True
        else:  # runs past midnight into the next local day
            if (day == weekday and secs >= start) or ((day + 1) % 7 == weekday and secs < end):
                return True
    return False


def reference(spec: dict, now: datetime) -> dict[str, int] | None:
    """Minutes up/down/business per window, by sampling every minute of the week."""
    zone = ZoneInfo(spec["zone"] or "America/Chicago")
    polls = sorted((now + m * MINUTE, up) for m, up in spec["polls"] if now + m * MINUTE <= now)
    if not polls:
        return None
    times = [t for t, _ in polls]
    out = {f"{k}_{w}": 0 for k in ("up", "down", "business") for w in ("hour", "day", "week")}
    for back in range(1, 7 * 1440 + 1):
        minute = now - back * MINUTE
        if not is_open(minute.astimezone(zone), spec["hours"]):
            continue
        i = bisect.bisect_right(times, minute) - 1
        up = polls[max(i, 0)][1]
        for w, length in (("hour", 60), ("day", 1440), ("week", 10080)):
            if back <= length:
                out[f"business_{w}"] += 1
                out[f"{'up' if up else 'down'}_{w}"] += 1
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(stores=st.lists(store, min_size=1, max_size=3), base=st.sampled_from(BASES),
       shift_minutes=st.integers(-3 * 1440, 3 * 1440))
def test_report_agrees_with_minute_by_minute_reference(
    stores_factory, stores, base, shift_minutes
) -> None:
    now = base + shift_minutes * MINUTE
    with tempfile.TemporaryDirectory() as tmp:
        db = stores_factory(Path(tmp), f"sqlite:///{tmp}/kpiflow.db")
        status = "store_id,timestamp_utc,status\n" + "".join(
            f"s{i},{(now + m * MINUTE).strftime('%Y-%m-%d %H:%M:%S')},"
            f"{'active' if up else 'inactive'}\n"
            for i, spec in enumerate(stores) for m, up in spec["polls"])
        hours = "store_id,day,start_time_local,end_time_local\n" + "".join(
            f"s{i},{d},{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d},"
            f"{e // 3600:02d}:{e % 3600 // 60:02d}:{e % 60:02d}\n"
            for i, spec in enumerate(stores) for d, s, e in spec["hours"])
        zones = "store_id,timezone_str\n" + "".join(
            f"s{i},{spec['zone']}\n" for i, spec in enumerate(stores) if spec["zone"])
        db.load(status=status, hours=hours, timezones=zones)
        engine = make_engine(db.settings.database_url)
        now_us = int(now.timestamp()) * 10**6
        with engine.connect() as conn:
            inputs = queries.report_inputs(conn, now_us, "America/Chicago")
        engine.dispose()
        numbers = {r.pop("store_id"): r for r in rep.compute(inputs).to_dicts()}
        for i, spec in enumerate(stores):
            expected = reference(spec, now)
            if expected is None:
                assert f"s{i}" not in numbers
                continue
            got = {k: v // rep.MINUTE_US for k, v in numbers[f"s{i}"].items()
                   if not k.startswith("unknown")}
            assert all(v % rep.MINUTE_US == 0 for v in numbers[f"s{i}"].values())
            assert got == expected, spec
