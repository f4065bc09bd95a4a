"""The extraction job: logins from the source into one stored user set per local day.

Day by day, in order: a day's set replaces the stored one (an emptied day is stored empty)
and the checkpoint moves to that day in the same transaction, after `safe_point`. A crash
therefore loses at most the day being written, and the next run starts there (less the
look-back, which re-reads recent days for late lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, delete, insert, select

from kpiflow.errors import ConfigError
from kpiflow.ingest import ledger, quarantine
from kpiflow.packs.logins import daysets, sources
from kpiflow.packs.logins.buckets import DayBuckets
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.events import Matcher
from kpiflow.packs.logins.tables import days, users
from kpiflow.registry import RunContext, Summary
from kpiflow.store.tables import quarantine as quarantine_table
from kpiflow.store.upsert import upsert

PACK = "logins"
CHECKPOINT = "day"
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

    sources: int = 0
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
    _read_sources(ctx, settings, buckets, summary)
    first = start or buckets.first_with_data()
    if first is None or first > end:
        return summary
    _commit_days(ctx, buckets, first, end, summary)
    summary.new_users = len(names) - known
    return summary


def _read_sources(ctx: RunContext[LoginsSettings], settings: LoginsSettings,
                  buckets: DayBuckets, summary: LoginsSummary) -> None:
    matcher = Matcher(settings)
    source = str(settings.logins_source)
    if sources.is_database_url(source):
        reads = [sources.read_table(source, settings.logins_table, matcher, buckets)]
    else:
        found = sources.files_of(Path(source))
        reads = []
        for number, f in enumerate(found, start=1):
            reads.append(sources.read_file(f, matcher, buckets))
            ctx.progress("files", number, len(found))
    with ctx.db.begin() as conn:
        for read in reads:
            _record_bad_lines(conn, read)
    for read in reads:
        summary.sources += 1
        summary.lines += read.lines
        summary.bad_lines += len(read.bad)
        summary.logins += read.logins


def _record_bad_lines(conn: Connection, read: sources.SourceRead) -> None:
    """A file's bad lines under its ledger entry; a table's under its name (both replaced)."""
    if read.file is None:
        q = quarantine_table.c
        conn.execute(delete(quarantine_table).where(q.pack == PACK, q.source == read.name))
        quarantine.add(conn, PACK, read.name, read.bad)
        return
    entries = ledger.load(conn, PACK)
    entry_id = ledger.record(
        conn, PACK, path=read.name, stamp=read.file.stamp, sha256=read.sha256,
        status=ledger.INGESTED, rows=read.lines - len(read.bad), bad_rows=len(read.bad),
        error=None, existing=entries.get(read.name))
    quarantine.replace(conn, PACK, entry_id, read.bad)


def _commit_days(ctx: RunContext[LoginsSettings], buckets: DayBuckets, first: date, end: date,
                 summary: LoginsSummary) -> None:
    stored = np.zeros(len(buckets.ids), dtype=bool)  # ids already in logins_users
    new_ids = {buckets.ids[n]: n for n in buckets.new_names}
    stored[[i for i in buckets.ids.values() if i not in new_ids]] = True
    last = checkpoint_day(ctx)
    offset = (first - buckets.first).days
    total = (end - first).days + 1
    for n in range(total):
        index = offset + n
        ids = buckets.distinct(index)
        fresh = ids[~stored[ids]]
        encoding, data = daysets.encode(ids)
        day = buckets.day(index)
        ctx.safe_point("logins_day")
        with ctx.db.begin() as conn:
            if fresh.size:
                conn.execute(insert(users), [{"user_id": int(i), "name": new_ids[int(i)]}
                                             for i in fresh])
            upsert(conn, days, [{"day": day, "users": int(ids.size),
                                 "logins": buckets.logins.get(index, 0),
                                 "encoding": encoding, "data": data}], key=("day",))
            if last is None or day > last:
                ctx.checkpoints.set(conn, CHECKPOINT, day.isoformat())
        stored[fresh] = True
        summary.days += 1
        ctx.progress("days", n + 1, total)
