"""One network pass: ingest new or changed files, then recompute every affected interval and hour.

Order of writes, so that a crash anywhere converges on the next pass:
1. a file's partial state is written atomically under its content hash;
2. one transaction records the ledger entry, the content's intervals, its quarantined rows and
   marks the intervals it touches (new and old content) dirty;
3. per hour, one transaction upserts the recomputed KPIs and clears those dirty marks.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select

from kpiflow.ingest import ledger, quarantine
from kpiflow.ingest.discover import FoundFile, discover
from kpiflow.ingest.reader import FileRejected
from kpiflow.packs.network import partials, privacy, recompute
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.packs.network.schema import START, interval_from_name
from kpiflow.packs.network.tables import content_intervals, dirty_intervals
from kpiflow.registry import RunContext, Summary
from kpiflow.state import StateStore
from kpiflow.store.tables import ledger as ledger_table
from kpiflow.store.upsert import insert_missing

PACK = "network"
# Files read, hashed and parsed ahead of the one being recorded. On 2 cores 3 measured about
# 6 % faster than 2 (more overlap of the single-threaded parts) for about 70 MB more peak
# memory with 500k-row files; docs/benchmarks.md has the resulting peak RSS.
AHEAD = 3

Checkpoint = Callable[[str], None]


@dataclass
class RunSummary(Summary):
    """What one pass did."""

    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    files_waiting: int = 0
    rows: int = 0
    bad_rows: int = 0
    intervals_updated: int = 0
    hours_updated: int = 0
    seconds: float = 0.0


def run(ctx: RunContext[NetworkSettings]) -> RunSummary:
    """One pass: ingest what is new or changed in DATA_DIR, recompute the affected KPIs.

    Raises DataDirMissing or StateError; core records it and translates database errors.
    """
    started = time.perf_counter()
    net = ctx.pack_settings
    found = discover(ctx.settings.data_dir)
    ctx.state.ensure_variant(privacy.variant(net.msisdn_secret), privacy.VARIANT_SETTING,
                             privacy.PLAIN)
    summary = RunSummary()
    ctx.safe_point("discovered")
    _ingest_files(ctx, found, summary)
    ctx.safe_point("files_done")
    summary.intervals_updated, summary.hours_updated = recompute.recompute_dirty(
        ctx.db, ctx.state, net.top_n, ctx.kpi_engine, ctx.progress, ctx.safe_point)
    ctx.safe_point("recomputed")
    _prune(ctx.db, ctx.state)
    summary.seconds = time.perf_counter() - started
    return summary


def _read_settled(found: FoundFile, settle_seconds: float) -> bytes | None:
    """The file's bytes, or None while it is still being written (young, or grew as we read)."""
    if settle_seconds and time.time() - found.mtime_ns / 1e9 < settle_seconds:
        return None
    try:
        data = found.abspath.read_bytes()
        after = found.abspath.stat()
    except OSError:
        return None
    if (after.st_size, after.st_mtime_ns) != (found.size, found.mtime_ns) or len(data) != found.size:
        return None
    return data


def _ingest_files(
    ctx: RunContext[NetworkSettings], found: list[FoundFile], summary: RunSummary
) -> None:
    db, store, net, progress, crash = (ctx.db, ctx.state, ctx.pack_settings, ctx.progress,
                                       ctx.safe_point)
    with db.connect() as conn:
        entries = ledger.load(conn, PACK)
    stale = [f for f in found if (e := entries.get(f.path)) is None or e.stamp != f.stamp]
    reads = _work_ahead(stale, entries, store, net)
    for done, file in enumerate(found):
        progress("files", done, len(found))
        entry = entries.get(file.path)
        if entry is not None and entry.stamp == file.stamp:
            summary.files_unchanged += 1
            continue
        ahead = next(reads)
        if ahead is None:
            summary.files_waiting += 1
            continue
        sha = ahead.sha
        if entry is not None and entry.sha256 == sha:
            with db.begin() as conn:
                ledger.touch(conn, entry, file.stamp)
            summary.files_unchanged += 1
            continue
        crash("file_read")
        _ingest_content(db, store, file, entry, sha, ahead, summary, crash, net.msisdn_secret)
        crash("ledger_committed")
        if entry is None:
            summary.files_new += 1
        else:
            summary.files_changed += 1
    progress("files", len(found), len(found))


@dataclass(frozen=True)
class _Ahead:
    """A file read, hashed and, unless its content may be known already, parsed ahead
    (its state then written too)."""

    data: bytes | None  # kept only while not built: memory is the bound on files in flight
    sha: str
    built: partials.Partials | FileRejected | None  # None: the main thread decides and builds


def _prepare(
    file: FoundFile, entry: ledger.LedgerEntry | None, store: StateStore, net: NetworkSettings
) -> _Ahead | None:
    data = _read_settled(file, net.network_settle_seconds)
    if data is None:
        return None
    sha = hashlib.sha256(data).hexdigest()
    if (entry is not None and entry.sha256 == sha) or store.has(sha, partials.KINDS):
        return _Ahead(data, sha, None)  # unchanged or re-delivered: hashing is all it may cost
    try:
        built = partials.build(data, net.msisdn_secret)
    except FileRejected as exc:
        return _Ahead(None, sha, exc)
    _write_state(store, sha, built)  # before the main thread records it: state first, as ever
    return _Ahead(None, sha, built)


def _write_state(store: StateStore, sha: str, built: partials.Partials) -> None:
    store.write(sha, partials.PAIRS, built.pairs)
    store.write(sha, partials.BYTES, built.byte_sums)


def _work_ahead(
    files: list[FoundFile],
    entries: dict[str, ledger.LedgerEntry],
    store: StateStore,
    net: NetworkSettings,
) -> Iterator[_Ahead | None]:
    """Each file read, hashed and parsed, in order, by worker threads working ahead.

    Reads, sha256, and polars and numpy work release the GIL, so files in flight keep both
    cores busy while this thread writes state and records the ledger (the profile showed one
    file at a time leaving a core idle). Workers write only state files (atomic, named by
    content); the ledger and every database write stay in order on the calling thread.
    """
    with ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="kpiflow-ahead") as pool:
        queue = [pool.submit(_prepare, f, entries.get(f.path), store, net)
                 for f in files[:AHEAD]]
        for i in range(len(files)):
            current = queue.pop(0)
            queue += [pool.submit(_prepare, f, entries.get(f.path), store, net)
                      for f in files[i + AHEAD : i + AHEAD + 1]]
            yield current.result()


def _built(ahead: _Ahead, secret: str | None) -> partials.Partials:
    """The partials built ahead, else built now; raises FileRejected."""
    if isinstance(ahead.built, FileRejected):
        raise ahead.built
    if ahead.built is not None:
        return ahead.built
    assert ahead.data is not None  # kept whenever nothing was built ahead
    return partials.build(ahead.data, secret)


def _ingest_content(
    db: Engine,
    store: StateStore,
    file: FoundFile,
    entry: ledger.LedgerEntry | None,
    sha: str,
    ahead: _Ahead,
    summary: RunSummary,
    crash: Checkpoint,
    secret: str | None,
) -> None:
    """Record one new or changed file: state first, then one transaction for the rest."""
    with db.connect() as conn:
        known = _content_intervals(conn, sha)
    reuse = bool(known) and store.has(sha, partials.KINDS)
    error: str | None = None
    bad: list[quarantine.BadRow] = []
    if reuse:
        rows = sum(r for r, _ in known.values())
        bad_rows = sum(b for _, b in known.values())
        status, error = ledger.INGESTED, "same content as another file; counted once"
    else:
        try:
            built = _built(ahead, secret)
        except FileRejected as exc:
            built, error = None, str(exc)
        if built is None:
            status, rows, bad_rows, known = ledger.REJECTED, 0, 0, {}
            summary.files_rejected += 1
        else:
            if built is not ahead.built:  # built here, not by a worker: no state written yet
                _write_state(store, sha, built)
            crash("state_written")
            status, rows, bad, bad_rows = ledger.INGESTED, built.rows, built.bad, len(built.bad)
            known = _interval_counts(built, file.path)
    summary.rows += 0 if reuse else rows
    summary.bad_rows += 0 if reuse else bad_rows
    with db.begin() as conn:
        old = _content_intervals(conn, entry.sha256) if entry is not None else {}
        # Bytes another ingested file already holds change no KPI: only what this path held
        # before needs recomputing, so a re-delivered file costs about its hashing.
        counted = reuse and _counted(conn, sha)
        ledger_id = ledger.record(
            conn, PACK, path=file.path, stamp=file.stamp, sha256=sha,
            status=status, rows=rows, bad_rows=bad_rows, error=error, existing=entry,
        )
        if not reuse and status == ledger.INGESTED:
            conn.execute(delete(content_intervals).where(content_intervals.c.sha256 == sha))
        if not reuse and known:
            conn.execute(
                insert(content_intervals),
                [{"sha256": sha, START: start, "rows": r, "bad_rows": b}
                 for start, (r, b) in known.items()],
            )
        quarantine.replace(conn, PACK, ledger_id, bad)
        touched = set(old) if counted else set(known) | set(old)
        insert_missing(conn, dirty_intervals, [{START: s} for s in sorted(touched)])
        crash("ledger_uncommitted")


def _interval_counts(built: partials.Partials, path: str) -> dict[int, tuple[int, int]]:
    """Valid rows per interval; bad rows go to the file's main interval (its name's if none)."""
    counts = {start: (rows, 0) for start, rows in built.rows_per_interval.items()}
    if built.bad:
        home = max(counts, key=lambda s: counts[s][0]) if counts else interval_from_name(path)
        if home is not None:
            rows, _ = counts.get(home, (0, 0))
            counts[home] = (rows, len(built.bad))
    return counts


def _counted(conn: Connection, sha: str) -> bool:
    """True when an ingested file already holds this content (so its KPIs include it)."""
    lc = ledger_table.c
    stmt = select(lc.id).where(lc.pack == PACK, lc.status == ledger.INGESTED, lc.sha256 == sha)
    return conn.execute(stmt.limit(1)).first() is not None


def _content_intervals(conn: Connection, sha: str) -> dict[int, tuple[int, int]]:
    ci = content_intervals.c
    result = conn.execute(select(ci[START], ci.rows, ci.bad_rows).where(ci.sha256 == sha))
    return {start: (rows, bad) for start, rows, bad in result}


def _prune(db: Engine, store: StateStore) -> None:
    """Drop the state and index of contents no file refers to any more."""
    with db.begin() as conn:
        keep = ledger.active_shas(conn, PACK)
        orphans = select(content_intervals.c.sha256).distinct()
        stale = [s for s in conn.scalars(orphans) if s not in keep]
        for chunk in range(0, len(stale), 500):
            conn.execute(
                delete(content_intervals).where(
                    content_intervals.c.sha256.in_(stale[chunk : chunk + 500])
                )
            )
    store.prune(keep)
