"""Property: for random logs and ranges, every aggregate equals a plain-Python reference that
reads the raw events itself (datetime + zoneinfo + sets, no code of the pack)."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.packs.logins.conftest import Logins

FIRST = date(2023, 12, 25)
SPAN_DAYS = 120
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
MESSAGES = ["successful login", "logout", "a successful login via sso", "login failed"]
USERS = ["admin", "ann", "bob", "cid", "dan", "eve", "fay"]


def _label(day: date, grain: str) -> date:
    """The pandas-style label, written from the calendar rules, not from the pack."""
    if grain == "D":
        return day
    if grain == "W":
        return day + timedelta(days=6 - day.weekday())  # Sunday
    if grain == "M":
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if grain == "Q":
        month = ((day.month - 1) // 3 + 1) * 3
        return date(day.year, month, calendar.monthrange(day.year, month)[1])
    return date(day.year, 12, 31)


def reference(events: list[dict[str, str]], zone: str, grain: str, start: date,
              end: date) -> dict[date, int]:
    """Distinct users per period over the raw events of [start, end] in `zone`."""
    tz = ZoneInfo(zone)
    sets: dict[date, set[str]] = {}
    day = start
    while day <= end:  # every overlapping period, empty ones too
        sets.setdefault(_label(day, grain), set())
        day += timedelta(days=1)
    for e in events:
        if "successful login" not in e["message"] or e["user"] == "admin":
            continue
        local = datetime.fromisoformat(e["created"]).astimezone(tz).date()
        if start <= local <= end:
            sets[_label(local, grain)].add(e["user"])
    return {label: len(users) for label, users in sorted(sets.items())}


event = st.fixed_dictionaries({
    "created": st.integers(0, SPAN_DAYS * 86_400 - 1).map(
        lambda s: (datetime(2023, 12, 25, tzinfo=UTC) + timedelta(seconds=s)).isoformat()),
    "user": st.sampled_from(USERS),
    "message": st.sampled_from(MESSAGES),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, max_size=60), zone=st.sampled_from(ZONES),
       a=st.integers(1, SPAN_DAYS - 2), b=st.integers(1, SPAN_DAYS - 2))
def test_every_aggregate_equals_the_reference(tmp_path_factory, events, zone, a, b) -> None:
    tmp: Path = tmp_path_factory.mktemp("ref")
    harness = Logins(tmp, f"sqlite:///{tmp / 'k.db'}", logins_timezone=zone)
    try:
        harness.write("a.jsonl", [json.dumps(e) for e in events])
        extract_from, extract_to = FIRST, FIRST + timedelta(days=SPAN_DAYS)
        harness.run(extract_from, extract_to)
        start, end = FIRST + timedelta(days=min(a, b)), FIRST + timedelta(days=max(a, b))
        for grain in "DWMQY":
            got = {p.period: p.unique_users for p in harness.uniques(grain, start, end).periods}
            assert got == reference(events, zone, grain, start, end), grain
    finally:
        harness.close()
