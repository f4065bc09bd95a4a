"""Incremental runs: a run reads only new or changed files and those holding a day it extracts.

Every assertion on what a run read uses the run's own counts (sources read, lines read, files
left unread), never its duration; each scenario also ends equal to a from-scratch extraction.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kpiflow.packs.logins.pipeline import LoginsSummary
from tests.packs.logins.conftest import Logins, line

D = date(2024, 1, 1)
LAST = date(2024, 1, 30)  # 30 days, one file per day


def at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


def day(n: int) -> date:
    return D + timedelta(days=n)


def _month(harness: Logins) -> None:
    """One file per day, two users a day; then the first run extracts all 30 days."""
    for n in range(30):
        harness.write(f"day-{n:02}.jsonl", [line(at(day(n)), f"u{n}"),
                                           line(at(day(n), 13), f"u{n + 1}"),
                                           line(at(day(n)), "x", "logout")])
    first = harness.run(D, LAST)
    assert (first.sources, first.files_unchanged, first.lines, first.days) == (30, 0, 90, 30)


def _read(summary: LoginsSummary) -> tuple[int, int, int]:
    return summary.sources, summary.files_unchanged, summary.lines


def _same_as_from_scratch(harness: Logins, tmp: Path, first: date, last: date) -> None:
    """The stored days equal those of a fresh database extracting [first, last] at once."""
    fresh = Logins(tmp / "fresh", f"sqlite:///{tmp / 'fresh.db'}", logins_source=str(harness.logs))
    fresh.run(first, last)
    for n in range((last - first).days + 1):
        d = first + timedelta(days=n)
        assert harness.day_users(d) == fresh.day_users(d), d
    fresh.close()


def test_an_unchanged_folder_is_not_read_again(logins_db: Logins, tmp_path: Path) -> None:
    _month(logins_db)
    # From the checkpoint (Jan 30) less the 2-day look-back: Jan 29 and 30, two files.
    again = logins_db.run(end=LAST)
    assert _read(again) == (2, 28, 6) and again.days == 2
    # Nothing new and a look-back of 0: the range is empty of files.
    assert _read(logins_db.run(end=LAST, logins_lookback_days=0)) == (0, 30, 0)
    _same_as_from_scratch(logins_db, tmp_path, D, LAST)


def test_a_late_file_for_a_look_back_day_is_read_with_that_days_files(
        logins_db: Logins, tmp_path: Path) -> None:
    _month(logins_db)
    logins_db.write("late.jsonl", [line(at(day(28), 23), "late")])
    summary = logins_db.run(end=LAST)
    assert _read(summary) == (3, 28, 7)  # the late file and the files of Jan 29 and 30
    assert logins_db.day_users(day(28)) == {"u28", "u29", "late"}
    _same_as_from_scratch(logins_db, tmp_path, D, LAST)


def test_a_file_holding_an_old_and_a_recent_day_is_read_for_the_recent_one(
        logins_db: Logins) -> None:
    logins_db.write("mixed.jsonl", [line(at(day(2)), "old"), line(at(day(29)), "recent")])
    for n in range(10, 20):
        logins_db.write(f"day-{n:02}.jsonl", [line(at(day(n)), f"u{n}")])
    assert _read(logins_db.run(D, LAST)) == (11, 0, 12)
    again = logins_db.run(end=LAST)  # Jan 29-30: only the mixed file holds them
    assert _read(again) == (1, 10, 2)
    assert logins_db.day_users(day(29)) == {"recent"}
    assert logins_db.day_users(day(2)) == {"old"}


def test_a_changed_file_is_read_and_replaces_its_days(logins_db: Logins, tmp_path: Path) -> None:
    _month(logins_db)
    changed = logins_db.logs / "day-29.jsonl"
    stat = changed.stat()
    # Same size, mtime set back: the inode change time still tells it changed.
    changed.write_text(changed.read_text().replace("u29", "v29"))
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert changed.stat().st_size == stat.st_size
    summary = logins_db.run(end=LAST, logins_lookback_days=1)  # extracts Jan 30 only
    assert _read(summary) == (1, 29, 3)
    assert logins_db.day_users(day(29)) == {"v29", "u30"}
    # The id made to see it changed is the one recorded (hashed once, and right).
    from kpiflow.ingest import ledger

    with logins_db.runtime.db.connect() as conn:
        entry = ledger.load(conn, "logins")[str(changed)]
    assert entry.sha256 == ledger.content_id(changed.read_bytes())
    _same_as_from_scratch(logins_db, tmp_path, D, LAST)


def test_a_new_or_changed_file_before_the_look_back_is_recorded_not_extracted(
        logins_db: Logins, tmp_path: Path) -> None:
    _month(logins_db)
    logins_db.write("old-late.jsonl", [line(at(day(3)), "late")])
    summary = logins_db.run(end=LAST)
    assert _read(summary) == (3, 28, 7)  # read (new), but Jan 4 lies before the look-back
    assert logins_db.day_users(day(3)) == {"u3", "u4"}
    # Re-extracting that day reads the two files that hold it, and nothing else.
    old = logins_db.run(day(3), day(3))
    assert _read(old) == (2, 29, 4)
    assert logins_db.day_users(day(3)) == {"u3", "u4", "late"}
    _same_as_from_scratch(logins_db, tmp_path, D, LAST)


def test_a_rewrite_with_the_same_bytes_is_not_parsed(logins_db: Logins) -> None:
    _month(logins_db)
    copy = logins_db.logs / "day-05.jsonl"
    copy.write_bytes(copy.read_bytes())  # new mtime and ctime, same content
    summary = logins_db.run(end=LAST)
    assert _read(summary) == (2, 28, 6)
    # Its new stamp was remembered: the next run does not even hash it.
    assert _read(logins_db.run(end=LAST)) == (2, 28, 6)


def test_changed_rules_read_every_file_again(logins_db: Logins, tmp_path: Path) -> None:
    _month(logins_db)
    summary = logins_db.run(end=LAST, logins_exclude_users=["admin", "u29"])
    assert _read(summary) == (30, 0, 90)  # the days each file holds may differ under new rules
    assert logins_db.day_users(day(29)) == {"u30"}
    assert _read(logins_db.run(end=LAST, logins_exclude_users=["admin", "u29"])) == (2, 28, 6)


def test_a_fifo_in_the_folder_is_rejected_never_opened(logins_db: Logins) -> None:
    from kpiflow.ingest import ledger

    logins_db.write("a.jsonl", [line(at(D), "ann")])
    os.mkfifo(logins_db.logs / "pipe.jsonl")  # opening it to read would block the run
    summary = logins_db.run(D, D)
    assert (summary.sources, summary.files_rejected, summary.logins) == (1, 1, 1)
    with logins_db.runtime.db.connect() as conn:
        entries = ledger.load(conn, "logins")
    pipe = entries[str(logins_db.logs / "pipe.jsonl")]
    assert pipe.status == ledger.REJECTED and "FIFO" in (pipe.error or "")
    assert logins_db.day_users(D) == {"ann"}
