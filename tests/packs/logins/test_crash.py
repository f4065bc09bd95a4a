"""kill -9 while day 2 of 3 is being written: the next run resumes at day 2 and the stored days
equal an uninterrupted run's (real `kpiflow logins run` processes, KPIFLOW_CRASH_AT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from kpiflow.packs.logins import queries
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import Grain
from kpiflow.store.tables import runs
from tests.packs.logins.conftest import line

KPIFLOW = Path(sys.executable).parent / "kpiflow"
DAYS = [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]


def _logs(folder: Path) -> None:
    folder.mkdir()
    lines = [line(f"{d.isoformat()}T{h:02d}:00:00Z", f"u{(d.day * h) % 7}")
             for d in DAYS for h in range(24)]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")


def _run(tmp: Path, url: str, args: list[str], crash_at: str | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "KPIFLOW_STATE_DIR": str(tmp / "state"),
           "KPIFLOW_LOGINS_SOURCE": str(tmp / "logs"), "KPIFLOW_LOGINS_LOOKBACK_DAYS": "0"}
    env.pop("KPIFLOW_CRASH_AT", None)
    if crash_at:
        env["KPIFLOW_CRASH_AT"] = crash_at
    return subprocess.run([str(KPIFLOW), "logins", "run", *args], env=env, capture_output=True,
                          timeout=300)


def _state(url: str) -> tuple[dict[date, set[str]], date | None, dict[str, list[int]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        days = {d: queries.day_users(conn, d) for d in DAYS}
        checkpoint = queries.stored_checkpoint(conn)
        answer = queries.uniques(conn, LoginsSettings(), Grain.D, DAYS[0], DAYS[-1])
        weekly = queries.uniques(conn, LoginsSettings(), Grain.W, DAYS[0], DAYS[-1])
    engine.dispose()
    counts = {"D": [p.unique_users for p in answer.periods],
              "W": [p.unique_users for p in weekly.periods]}
    return days, checkpoint, counts


@pytest.mark.xdist_group("crash")
def test_kill_9_on_day_2_of_3_resumes_at_day_2(tmp_path: Path, database_url: str) -> None:
    _logs(tmp_path / "logs")
    crashed = _run(tmp_path, database_url, ["--start", "2024-01-01", "--end", "2024-01-03"],
                   crash_at="logins_day:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    days, checkpoint, _ = _state(database_url)
    assert checkpoint == DAYS[0]  # day 1 committed with its checkpoint, day 2 not at all
    assert days[DAYS[0]] and days[DAYS[1]] == set() and days[DAYS[2]] == set()

    resumed = _run(tmp_path, database_url, ["--end", "2024-01-03"])
    assert resumed.returncode == 0, resumed.stderr.decode()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        last = conn.execute(select(runs.c.counts, runs.c.status).order_by(runs.c.id.desc())).first()
    engine.dispose()
    assert last is not None
    counts = last.counts if isinstance(last.counts, dict) else json.loads(last.counts)
    assert counts["days"] == 2  # days 2 and 3: it resumed at the failed day

    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "logs").symlink_to(tmp_path / "logs")
    clean_url = f"sqlite:///{reference / 'k.db'}"
    clean = _run(reference, clean_url, ["--start", "2024-01-01", "--end", "2024-01-03"])
    assert clean.returncode == 0, clean.stderr.decode()
    assert _state(database_url) == _state(clean_url)
    assert all(_state(clean_url)[0].values())


@pytest.mark.xdist_group("crash")
def test_kill_9_in_a_long_range_resumes_at_the_first_uncommitted_group(tmp_path: Path) -> None:
    # 130 days commit in groups of 3 (at most 64 transactions): killed before the second
    # commit, days 1-3 and their checkpoint are stored, nothing after; the resumed run redoes
    # the rest and ends equal to an uninterrupted run.
    first, last = date(2024, 1, 1), date(2024, 5, 9)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.jsonl").write_text("".join(
        line(f"{date.fromordinal(first.toordinal() + d).isoformat()}T08:00:00Z", f"u{d % 11}")
        + "\n" for d in range(130)))
    url = f"sqlite:///{tmp_path / 'k.db'}"
    span = ["--start", first.isoformat(), "--end", last.isoformat()]
    crashed = _run(tmp_path, url, span, crash_at="logins_day:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert queries.stored_checkpoint(conn) == date(2024, 1, 3)
        days = [p.days_covered for p in queries.uniques(
            conn, LoginsSettings(), Grain.D, first, last).periods]
    engine.dispose()
    assert days == [1, 1, 1] + [0] * 127
    assert _run(tmp_path, url, ["--end", last.isoformat()]).returncode == 0

    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    (clean_dir / "logs").symlink_to(tmp_path / "logs")
    clean_url = f"sqlite:///{clean_dir / 'k.db'}"
    assert _run(clean_dir, clean_url, span).returncode == 0
    answers = []
    for u in (url, clean_url):
        engine = create_engine(u)
        with engine.connect() as conn:
            answers.append([(p.period, p.unique_users, p.days_covered) for p in queries.uniques(
                conn, LoginsSettings(), Grain.W, first, last).periods])
        engine.dispose()
    assert answers[0] == answers[1] and all(covered for _, _, covered in answers[0])
