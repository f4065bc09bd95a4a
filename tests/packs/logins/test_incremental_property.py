"""Property: any sequence of file changes (add, append, rewrite, delete) with runs in between
ends with the stored uniques a plain-Python reference computes from the final files.

Each ranged run is checked on its own days too (against the files as they are then), so a
file wrongly left unread (the skipping of unchanged files) shows at the run that skipped it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.packs.logins.conftest import Logins
from tests.packs.logins.test_reference import reference

FIRST = date(2024, 1, 1)
DAYS = 20
LAST = FIRST + timedelta(days=DAYS - 1)
FILES = ["a.jsonl", "b.jsonl", "sub/c.jsonl"]
USERS = ["admin", "ann", "bob", "cid", "dan"]
MESSAGES = ["successful login", "logout", "successful login via sso"]


def _created(second: int, shape: int) -> str:
    moment = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=second)
    if shape == 0:  # what Python writes
        return moment.isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# One line: a login-like event (`created` in two shapes, so files of one shape take the byte
# parser and mixed ones the general one) or, rarely, a line that is not JSON.
log_line = st.one_of(
    st.builds(lambda s, shape, u, m: json.dumps({"created": _created(s, shape), "user": u,
                                                 "message": m}),
              st.integers(0, DAYS * 86_400 - 1), st.integers(0, 1), st.sampled_from(USERS),
              st.sampled_from(MESSAGES)),
    st.just("{not json"),
)
lines = st.lists(log_line, min_size=1, max_size=8)
day = st.integers(0, DAYS - 1)
step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(FILES), lines),  # add, or rewrite
    st.tuples(st.just("append"), st.sampled_from(FILES), lines),
    st.tuples(st.just("delete"), st.sampled_from(FILES)),
    st.tuples(st.just("run"), day, day),
    st.tuples(st.just("look-back run")),
)


def events_of(files: dict[str, list[str]]) -> list[dict[str, str]]:
    """The parsed events of the files as they are (lines that are not JSON left out)."""
    events = []
    for content in files.values():
        for text in content:
            try:
                events.append(json.loads(text))
            except json.JSONDecodeError:
                continue
    return events


def _stored(harness: Logins, grain: str, start: date, end: date) -> dict[date, int]:
    return {p.period: p.unique_users for p in harness.uniques(grain, start, end).periods}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=8))
def test_incremental_runs_end_as_the_reference_over_the_final_files(
        tmp_path_factory: Any, steps: list[tuple[Any, ...]]) -> None:
    tmp: Path = tmp_path_factory.mktemp("incremental")
    harness = Logins(tmp, f"sqlite:///{tmp / 'k.db'}")
    files: dict[str, list[str]] = {}
    # Every write gets its own mtime, a second after the last: two writes of one size within
    # one tick of the file system's clock must not look alike (what a stamp cannot tell).
    clock = 1_700_000_000
    try:
        for kind, *args in steps:
            if kind in ("write", "append"):
                name, new = args
                files[name] = (files.get(name, []) if kind == "append" else []) + new
                path = harness.logs / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("".join(f"{x}\n" for x in files[name]))
                clock += 1
                os.utime(path, ns=(clock * 10**9, clock * 10**9))
            elif kind == "delete":
                if files.pop(args[0], None) is not None:
                    (harness.logs / args[0]).unlink()
            elif kind == "run":
                start = FIRST + timedelta(days=min(args))
                end = FIRST + timedelta(days=max(args))
                harness.run(start, end)
                assert _stored(harness, "D", start, end) == reference(
                    events_of(files), "UTC", "D", start, end)
            else:
                harness.run(end=LAST)
        harness.run(FIRST, LAST)
        final = events_of(files)
        for grain in "DWMQY":
            assert _stored(harness, grain, FIRST, LAST) == reference(
                final, "UTC", grain, FIRST, LAST), grain
    finally:
        harness.close()
