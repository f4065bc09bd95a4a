"""The extraction job: logins from the source into one stored user set per local day.

Day by day, in order: a day's set replaces the stored one (an emptied day is stored empty)
and the checkpoint moves to that day in the same transaction, after `safe_point`. A crash
therefore loses at most the days being written, and the next run starts there (less the
look-back, which re-reads recent days for late lines). A range over 64 days is committed in
groups of consecutive days (at most 64 transactions), each with the checkpoint at its last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select

from kpiflow.errors import ConfigError
from kpiflow.ingest import ledger, quarantine
from kpiflow.ingest.discover import FoundFile
from kpiflow.packs.logins import daysets, filedays, sources
from kpiflow.packs.logins.buckets import DayBuckets
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.events import Matcher
from kpiflow.packs.logins.tables import days, users
from kpiflow.registry import RunContext, Summary
from kpiflow.store.tables import quarantine as quarantine_table
from kpiflow.store.upsert import upsert

PACK = "logins"
CHECKPOINT = "day"
USERS_BATCH = 20_000
COMMITS = 64  # a long range is committed in at most this many transactions
EPOCH_START = date(1970, 1, 2)  # the earliest day a run without a start can find


@dataclass(frozen=True)
class RunOptions:
    """What one run is asked for beyond the settings (the CLI's --start, --end, --reset)."""

    start: date | None = None
    end: date | None = None
    reset: bool = False


@dataclass
class LoginsSummary(Summary):
    """What an extraction did."""

    sources: int = 0  # sources read (files new, changed or holding a day extracted; a table)
    files_unchanged: int = 0  # files not read: same content, no login in the days extracted
    files_rejected: int = 0  # entries never opened: a FIFO, a device, an unusable name
    lines: int = 0
    bad_lines: int = 0
    logins: int = 0
    days: int = 0
    new_users: int = 0


def today(settings: LoginsSettings) -> date:
    """The current date in the configured zone."""
    return datetime.now(ZoneInfo(settings.logins_timezone)).date()


def checkpoint_day(ctx: RunContext[LoginsSettings]) -> date | None:
    """The last day committed, if any."""
    value = ctx.checkpoints.get(CHECKPOINT)
    return None if value is None else date.fromisoformat(value)


def _range(ctx: RunContext[LoginsSettings], options: RunOptions) -> tuple[date | None, date]:
    settings = ctx.pack_settings
    now = today(settings)
    end = options.end or now
    if end > now:
        raise ConfigError(f"end {end} is after today ({now} in {settings.logins_timezone})")
    if options.start is not None:
        if options.start > end:
            raise ConfigError(f"end {end} is before start {options.start}")
        return options.start, end
    last = None if options.reset else checkpoint_day(ctx)
    if last is not None:
        return last + timedelta(days=1 - settings.logins_lookback_days), end
    return settings.logins_start, end


def extract(ctx: RunContext[LoginsSettings], options: RunOptions | None = None) -> LoginsSummary:
    """Extract the logins of the range, day by day, each day committed with the checkpoint."""
    options = options or RunOptions()
    settings = ctx.pack_settings
    if not settings.logins_source:
        raise ConfigError("no source: set KPIFLOW_LOGINS_SOURCE or give --source")
    if options.reset:
        with ctx.db.begin() as conn:
            ctx.checkpoints.reset(conn, CHECKPOINT)
    start, end = _range(ctx, options)
    with ctx.db.connect() as conn:
        names = {str(n): int(i) for i, n in conn.execute(select(users.c.user_id, users.c.name))}
    known = len(names)
    zone = ZoneInfo(settings.logins_timezone)
    buckets = DayBuckets(start or EPOCH_START, end, zone, names)
    summary = LoginsSummary()
    _read_sources(ctx, settings, buckets, None if start is None else (start, end), summary)
    buckets.finish()
    first = start or buckets.first_with_data()
    if first is None or first > end:
        return summary
    _commit_days(ctx, buckets, first, end, summary)
    summary.new_users = len(names) - known
    return summary


def _read_sources(ctx: RunContext[LoginsSettings], settings: LoginsSettings,
                  buckets: DayBuckets, extracted: tuple[date, date] | None,
                  summary: LoginsSummary) -> None:
    """Read the table, or the files that matter for the days `extracted` (all when None)."""
    matcher = Matcher(settings)
    source = str(settings.logins_source)
    rules = filedays.rules_of(settings)
    touched: list[tuple[ledger.LedgerEntry, FoundFile]] = []  # new stamp, same content
    rejected: list[tuple[FoundFile, ledger.LedgerEntry | None]] = []  # never opened
    if sources.is_database_url(source):
        reads = [sources.read_table(source, settings.logins_table, matcher, buckets)]
    else:
        found = sources.files_of(Path(source))
        with ctx.db.connect() as conn:
            entries = ledger.load(conn, PACK)
            recorded = filedays.load(conn)
        reads = []
        for number, f in enumerate(found, start=1):
            entry = entries.get(str(f.abspath))
            if f.problem is not None:  # a FIFO, a device, a name the ledger cannot hold
                rejected.append((f, entry))
                continue
            days = recorded.get(entry.id) if entry is not None else None
            data, cid, same = _same_content(f, entry, days, rules)
            if same and entry is not None and entry.stamp != f.stamp:
                touched.append((entry, f))
            if same and days is not None and extracted is not None and not days.touches(
                    *extracted):
                summary.files_unchanged += 1
            else:
                data = f.abspath.read_bytes() if data is None else data
                reads.append(sources.read_file(f, data, matcher, buckets, cid))
            ctx.progress("files", number, len(found))
    read_paths = {read.name for read in reads}
    with ctx.db.begin() as conn:
        for entry, f in touched:
            if entry.path not in read_paths:
                ledger.touch(conn, entry, f.stamp)
        for f, maybe in rejected:
            ledger.note_problem(conn, PACK, path=str(f.abspath), stamp=f.stamp,
                                status=ledger.REJECTED, error=str(f.problem), existing=maybe)
        entries = ledger.load(conn, PACK)
        for read in reads:
            _record_read(conn, read, rules, entries.get(read.name))
    summary.files_rejected += len(rejected)
    for read in reads:
        summary.sources += 1
        summary.lines += read.lines
        summary.bad_lines += len(read.bad)
        summary.logins += read.logins


def _same_content(f: FoundFile, entry: ledger.LedgerEntry | None,
                  days: filedays.FileDays | None,
                  rules: str) -> tuple[bytes | None, str, bool]:
    """Whether the file holds the content its recorded days were read from, under the same
    rules: by its stamp, else by its content id (then with the bytes read for it and, when
    it is the id a read records, their id: a changed file is hashed once, not twice)."""
    if entry is None or days is None or days.rules != rules:
        return None, "", False
    if entry.stamp == f.stamp:
        return None, "", True
    data = f.abspath.read_bytes()
    scheme = ledger.scheme_of(entry.sha256)
    cid = ledger.content_id(data, scheme)
    return data, cid if scheme == ledger.BLAKE3 else "", cid == entry.sha256


def _record_read(conn: Connection, read: sources.SourceRead, rules: str,
                 entry: ledger.LedgerEntry | None) -> None:
    """A file's ledger entry, days and bad lines; a table's bad lines under its name (all
    replaced)."""
    if read.file is None:
        q = quarantine_table.c
        conn.execute(delete(quarantine_table).where(q.pack == PACK, q.source == read.name))
        quarantine.add(conn, PACK, read.name, read.bad)
        return
    entry_id = ledger.record(
        conn, PACK, path=read.name, stamp=read.file.stamp, sha256=read.sha256,
        status=ledger.INGESTED, rows=read.lines - len(read.bad), bad_rows=len(read.bad),
        error=None, existing=entry)
    quarantine.replace(conn, PACK, entry_id, read.bad)
    filedays.save(conn, entry_id, rules, read.days)


def _commit_days(ctx: RunContext[LoginsSettings], buckets: DayBuckets, first: date, end: date,
                 summary: LoginsSummary) -> None:
    if buckets.new_names:  # the dictionary first: ids no committed day uses yet are harmless
        ctx.safe_point("logins_users")
        with ctx.db.begin() as conn:
            named = [{"user_id": buckets.ids[n], "name": n} for n in buckets.new_names]
            for i in range(0, len(named), USERS_BATCH):
                conn.execute(insert(users), named[i:i + USERS_BATCH])
    last = checkpoint_day(ctx)
    offset = (first - buckets.first).days
    total = (end - first).days + 1
    # One day per transaction for the short ranges of daily runs; a long range (a first run,
    # a --start years back) commits days in at most COMMITS groups, so a crash redoes at most
    # that fraction of it and 730 days cost 60 commits, not 730.
    size = -(-total // COMMITS)
    for group in range(0, total, size):
        rows: list[dict[str, Any]] = []
        for n in range(group, min(group + size, total)):
            ids = buckets.distinct(offset + n)
            encoding, data = daysets.encode(ids)
            rows.append({"day": buckets.day(offset + n), "users": int(ids.size),
                         "logins": buckets.logins.get(offset + n, 0),
                         "encoding": encoding, "data": data})
        ctx.safe_point("logins_day")
        with ctx.db.begin() as conn:
            upsert(conn, days, rows, key=("day",))
            newest = buckets.day(offset + group + len(rows) - 1)
            if last is None or newest > last:
                ctx.checkpoints.set(conn, CHECKPOINT, newest.isoformat())
        summary.days += len(rows)
        ctx.progress("days", group + len(rows), total)
