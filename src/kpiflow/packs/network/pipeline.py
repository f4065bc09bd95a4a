"""One network pass: ingest new or changed files, then recompute every affected interval and hour.

Order of writes, so that a crash anywhere converges on the next pass:
1. a file's partial state is written atomically under its content hash;
2. one transaction records the ledger entry, the content's intervals, its quarantined rows and
   marks the intervals it touches (new and old content) dirty;
3. per hour, one transaction upserts the recomputed KPIs and clears those dirty marks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, delete, insert, select

from kpiflow.engine.spark_engine import SparkEngine
from kpiflow.ingest import ledger, quarantine
from kpiflow.ingest.discover import FoundFile, discover, read_regular
from kpiflow.ingest.reader import FileRejected
from kpiflow.packs.network import partials, privacy, recompute
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.packs.network.schema import START, interval_from_name
from kpiflow.packs.network.tables import content_intervals, dirty_intervals
from kpiflow.registry import RunContext, Summary, lazy_modules
from kpiflow.state import StateStore
from kpiflow.store.tables import ledger as ledger_table
from kpiflow.store.upsert import insert_missing

# The Spark side loads only when the Spark engine builds a file (it names polars types).
if TYPE_CHECKING:
    from kpiflow.packs.network import spark_build
else:
    (spark_build,) = lazy_modules("kpiflow.packs.network.spark_build")

PACK = "network"
# Files read, hashed and parsed ahead of the one being recorded. On 2 cores 3 measured about
# 6 % faster than 2 (more overlap of the single-threaded parts) for about 70 MB more peak
# memory with 500k-row files; docs/benchmarks.md has the resulting peak RSS.
AHEAD = 3

Checkpoint = Callable[[str], None]
# Coarsest file timestamp there is (FAT: 2 s; ext3, SMB and many NFS mounts: 1 s). A file
# changed this close to the moment it was read may be rewritten in place within the same tick,
# same size, leaving its stamp as it was: its ledger stamp is recorded as "check again"
# (RECHECK_CTIME), so the next pass reads it once more (a hash only, if nothing changed).
TIMESTAMP_GRANULARITY_S = 2.0
RECHECK_CTIME = -1
STATE_IDENTITY = "state_folder_identity"  # checkpoint: the identity of this database's folder


@dataclass
class RunSummary(Summary):
    """What one pass did."""

    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    files_waiting: int = 0
    files_unreadable: int = 0
    rows: int = 0
    bad_rows: int = 0
    intervals_updated: int = 0
    hours_updated: int = 0
    kpis_failed: int = 0
    seconds: float = 0.0


def run(ctx: RunContext[NetworkSettings]) -> RunSummary:
    """One pass: ingest what is new or changed in DATA_DIR, recompute the affected KPIs.

    Raises DataDirMissing or StateError; core records it and translates database errors.
    """
    started = time.perf_counter()
    net = ctx.pack_settings
    found = discover(ctx.settings.data_dir)
    _bind_state(ctx)
    ctx.state.remove_temporaries()  # a killed pass's leftovers; we hold the lock
    ctx.state.ensure_variant(privacy.variant(net.msisdn_secret), privacy.VARIANT_SETTING,
                             privacy.PLAIN)
    summary = RunSummary()
    ctx.safe_point("discovered")
    _ingest_files(ctx, found, summary)
    ctx.safe_point("files_done")
    done = recompute.recompute_dirty(
        ctx.db, ctx.state, net.top_n, ctx.kpi_engine, ctx.progress, ctx.safe_point)
    summary.intervals_updated, summary.hours_updated = done.intervals, done.hours
    summary.kpis_failed = len(done.failed)
    ctx.safe_point("recomputed")
    _prune(ctx.db, ctx.state)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass(frozen=True)
class _Unreadable:
    """A file that could not be read (permissions, I/O error, swapped for a FIFO): why."""

    reason: str


def _bind_state(ctx: RunContext[NetworkSettings]) -> None:
    """Refuse a state folder of another database; bind a new one to this database."""
    identity = ctx.checkpoints.get(STATE_IDENTITY)
    if identity is None:
        identity = ctx.state.bind(None)
        with ctx.db.begin() as conn:
            ctx.checkpoints.set(conn, STATE_IDENTITY, identity)
    ctx.state.bind(identity)


def _read_settled(found: FoundFile, settle_seconds: float,
                  read_timeout: float) -> bytes | _Unreadable | None:
    """The file's bytes, None while it is still being written (young, or grew as we read)."""
    if settle_seconds and time.time() - found.mtime_ns / 1e9 < settle_seconds:
        return None
    try:
        data = read_regular(found.abspath, read_timeout)
        after = found.abspath.stat()
    except FileNotFoundError:
        return None  # vanished since discovery: the next pass sees what is there
    except OSError as exc:
        return _Unreadable(f"cannot read: {exc.strerror or exc}")
    if (after.st_size, after.st_mtime_ns) != (found.size, found.mtime_ns) or len(data) != found.size:
        return None
    return data


def _stamp_to_record(file: FoundFile, read_at: float) -> tuple[int, int, int, int]:
    """The file's stamp, or a "check again" stamp when it changed within one timestamp tick."""
    changed = max(file.mtime_ns, file.ctime_ns) / 1e9
    if read_at - changed < TIMESTAMP_GRANULARITY_S:
        return (file.size, file.mtime_ns, RECHECK_CTIME, file.inode)
    return file.stamp


def _ingest_files(
    ctx: RunContext[NetworkSettings], found: list[FoundFile], summary: RunSummary
) -> None:
    db, store, net, progress, crash = (ctx.db, ctx.state, ctx.pack_settings, ctx.progress,
                                       ctx.safe_point)
    with db.connect() as conn:
        entries = ledger.load(conn, PACK)
    scheme = ledger.identity_scheme(entries.values())
    stale = [f for f in found if f.problem is None and _stale(f, entries.get(f.path))]
    reads = (_work_ahead(stale, entries, store, net, scheme, ctx.settings.read_timeout_seconds)
             if ctx.settings.engine != "spark" else _built_on_spark(ctx, stale, entries, scheme))
    for done, file in enumerate(found):
        progress("files", done, len(found))
        entry = entries.get(file.path)
        if file.problem is not None:
            _note(db, file, entry, ledger.REJECTED, file.problem)
            summary.files_rejected += 1
            continue
        if not _stale(file, entry):
            summary.files_unchanged += 1
            continue
        ahead = next(reads)
        if ahead is None:
            summary.files_waiting += 1
            continue
        if isinstance(ahead, _Unreadable):
            _note(db, file, entry, ledger.UNREADABLE, ahead.reason)
            summary.files_unreadable += 1
            continue
        sha = ahead.sha
        if entry is not None and entry.sha256 == sha:
            with db.begin() as conn:
                ledger.touch(conn, entry, _stamp_to_record(file, ahead.read_at))
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


def _stale(file: FoundFile, entry: ledger.LedgerEntry | None) -> bool:
    """True when the file must be read: new, changed, or unreadable last time (retried)."""
    return entry is None or entry.stamp != file.stamp or entry.status == ledger.UNREADABLE


def _note(db: Engine, file: FoundFile, entry: ledger.LedgerEntry | None, status: str,
          reason: str) -> None:
    with db.begin() as conn:
        ledger.note_problem(conn, PACK, path=file.path, stamp=file.stamp, status=status,
                            error=reason, existing=entry)


@dataclass(frozen=True)
class _Ahead:
    """A file read, hashed and, unless its content may be known already, parsed ahead
    (its state then written too)."""

    data: bytes | None  # kept only while not built: memory is the bound on files in flight
    sha: str
    # None: the main thread decides and builds; Pending: to build on Spark with the others
    built: partials.Counts | FileRejected | spark_build.Pending | None
    read_at: float  # wall clock just after the read, for the one-tick rewrite check


def _prepare(
    file: FoundFile, entry: ledger.LedgerEntry | None, store: StateStore, net: NetworkSettings,
    scheme: str,
    read_timeout: float,
    on_spark: bool = False,
) -> _Ahead | _Unreadable | None:
    data = _read_settled(file, net.network_settle_seconds, read_timeout)
    read_at = time.time()
    if data is None or isinstance(data, _Unreadable):
        return data
    sha = ledger.content_id(data, scheme)
    # Unchanged or re-delivered: hashing is all it costs, unless its state was lost or damaged,
    # which re-reading the source then rebuilds.
    unchanged_reject = entry is not None and entry.sha256 == sha and entry.status != ledger.INGESTED
    if unchanged_reject or store.intact(sha, partials.KINDS):
        return _Ahead(data, sha, None, read_at)
    try:
        if on_spark:
            return _Ahead(None, sha, spark_build.pending(file.abspath, data), read_at)
        built = partials.build(data, net.msisdn_secret)
    except FileRejected as exc:
        return _Ahead(None, sha, exc, read_at)
    _write_state(store, sha, built)  # before the main thread records it: state first, as ever
    return _Ahead(None, sha, built, read_at)


def _write_state(store: StateStore, sha: str, built: partials.Partials) -> None:
    store.write(sha, partials.PAIRS, built.pairs)
    store.write(sha, partials.BYTES, built.byte_sums)


def _work_ahead(
    files: list[FoundFile],
    entries: dict[str, ledger.LedgerEntry],
    store: StateStore,
    net: NetworkSettings,
    scheme: str,
    read_timeout: float,
) -> Iterator[_Ahead | _Unreadable | None]:
    """Each file read, hashed and parsed, in order, by worker threads working ahead.

    Reads, sha256, and polars and numpy work release the GIL, so files in flight keep both
    cores busy while this thread writes state and records the ledger (the profile showed one
    file at a time leaving a core idle). Workers write only state files (atomic, named by
    content); the ledger and every database write stay in order on the calling thread.
    """
    with ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="kpiflow-ahead") as pool:
        queue = [pool.submit(_prepare, f, entries.get(f.path), store, net, scheme, read_timeout)
                 for f in files[:AHEAD]]
        for i in range(len(files)):
            current = queue.pop(0)
            queue += [pool.submit(_prepare, f, entries.get(f.path), store, net, scheme, read_timeout)
                      for f in files[i + AHEAD : i + AHEAD + 1]]
            yield current.result()


def _built_on_spark(
    ctx: RunContext[NetworkSettings], files: list[FoundFile],
    entries: dict[str, ledger.LedgerEntry], scheme: str,
) -> Iterator[_Ahead | _Unreadable | None]:
    """Each file read and hashed by worker threads, then every new content built in one Spark
    job (state written first, as ever); a content Spark did not find as hashed waits (None)."""
    store, net = ctx.state, ctx.pack_settings
    with ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="kpiflow-ahead") as pool:
        timeout = ctx.settings.read_timeout_seconds
        read = list(pool.map(
            lambda f: _prepare(f, entries.get(f.path), store, net, scheme, timeout, True), files))
    todo = {a.sha: a.built for a in read
            if isinstance(a, _Ahead) and isinstance(a.built, spark_build.Pending)}
    engine = ctx.kpi_engine
    assert isinstance(engine, SparkEngine)  # the engine setting chose this path
    done = spark_build.SparkBuilder(engine, store, net.msisdn_secret).build(todo)
    for ahead in read:
        if isinstance(ahead, _Ahead) and isinstance(ahead.built, spark_build.Pending):
            yield replace(ahead, built=done[ahead.sha]) if ahead.sha in done else None
        else:
            yield ahead


def _built(ahead: _Ahead, secret: str | None) -> partials.Counts:
    """The partials built ahead, else built now; raises FileRejected."""
    if isinstance(ahead.built, FileRejected):
        raise ahead.built
    if ahead.built is not None:
        assert not isinstance(ahead.built, spark_build.Pending)  # built by _built_on_spark
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
    reuse = bool(known) and store.intact(sha, partials.KINDS)
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
            if isinstance(built, partials.Partials) and built is not ahead.built:
                _write_state(store, sha, built)  # built here, not by a worker: not written yet
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
            conn, PACK, path=file.path, stamp=_stamp_to_record(file, ahead.read_at), sha256=sha,
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


def _interval_counts(built: partials.Counts, path: str) -> dict[int, tuple[int, int]]:
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
