"""`kpiflow stores load`: put status, hours and timezone files into the database, incrementally.

Per file, one transaction records the ledger entry, the rows and the quarantined bad rows, so a
crash leaves a file either fully loaded or not at all. Rules for a re-load:
- polls are keyed by (store, instant): a poll delivered twice, or a file loaded twice, adds nothing;
- an hours file is the schedule of the stores it names: their old hours rows are replaced;
- a timezones file sets the zone of the stores it names (the last row of a store wins).
A file whose path and content are already in the ledger is skipped without being parsed.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from kpiflow.errors import ConfigError
from kpiflow.ingest import ledger, quarantine
from kpiflow.ingest.discover import read_regular
from kpiflow.ingest.reader import FileRejected, gunzip
from kpiflow.packs.stores import schema
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.packs.stores.tables import hours, stores
from kpiflow.registry import Job, RunContext, Summary
from kpiflow.store.upsert import insert_missing

PACK = "stores"
KINDS = ("status", "hours", "timezones")
CHUNK = 200_000


@dataclass
class FileResult:
    """What loading one file did."""

    kind: str
    path: str
    outcome: str  # loaded, unchanged, rejected, unreadable (tried again on the next load)
    rows: int = 0
    bad_rows: int = 0
    new_rows: int = 0
    error: str | None = None


@dataclass
class LoadSummary(Summary):
    """What one `load` did: its counts (the run log keeps them) and each file's result."""

    files_loaded: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    files_unreadable: int = 0
    rows: int = 0  # valid rows of the files named, loaded now or before
    bad_rows: int = 0
    new_rows: int = 0
    seconds: float = 0.0
    files: list[FileResult] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        """Count one file's result in."""
        self.files.append(result)
        outcome = {"loaded": "files_loaded", "unchanged": "files_unchanged",
                   "rejected": "files_rejected", "unreadable": "files_unreadable"}[result.outcome]
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.rows += result.rows
        self.bad_rows += result.bad_rows
        self.new_rows += result.new_rows


def load_job(files: dict[str, Path]) -> Job[StoresSettings]:
    """The on-demand job that loads `files` ({kind: path}); core runs it like any pass
    (`run_job`: schema, the pack's lock, the run log). ConfigError names a bad kind or path."""
    unknown = set(files) - set(KINDS)
    if unknown:
        raise ConfigError(f"unknown input kind(s): {', '.join(sorted(unknown))}")
    for kind, path in files.items():
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(f"--{kind}: no such file: {path}") from None
        except OSError as exc:
            raise ConfigError(f"--{kind}: cannot read {path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
            raise ConfigError(f"--{kind}: not a regular file: {path}")
    return Job("load", partial(load_files, files=dict(files)),
               description="Load status, hours and timezone files given on the command line.")


def load_files(ctx: RunContext[StoresSettings], files: dict[str, Path]) -> LoadSummary:
    """Load `files` ({kind: path}); hours and zones first so polls meet their stores' schedule."""
    started = time.perf_counter()
    summary = LoadSummary()
    ordered = [k for k in ("timezones", "hours", "status") if k in files]
    for done, kind in enumerate(ordered):
        ctx.progress("files", done, len(ordered))
        ctx.safe_point(f"{kind}_read")
        summary.add(_load_one(ctx.db, kind, files[kind], ctx.settings.read_timeout_seconds))
    ctx.progress("files", len(ordered), len(ordered))
    summary.seconds = time.perf_counter() - started
    return summary


def _load_one(db: Engine, kind: str, path: Path, read_timeout: float) -> FileResult:
    key = f"{kind}:{path.resolve()}"
    with db.connect() as conn:
        existing = ledger.load(conn, PACK).get(key)
    st = path.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    try:
        data = read_regular(path, read_timeout)
    except OSError as exc:  # permissions, I/O error, too slow: recorded, tried again next load
        error = f"cannot read: {exc.strerror or exc}"
        with db.begin() as conn:
            ledger.note_problem(conn, PACK, path=key, stamp=stamp, status=ledger.UNREADABLE,
                                error=error, existing=existing)
        return FileResult(kind, str(path), "unreadable", error=error)
    sha = ledger.content_id(data)  # BLAKE3; an entry's own id says how to compare with it
    if (existing is not None and existing.status == ledger.INGESTED
            and ledger.matches(data, existing.sha256)):
        return FileResult(kind, str(path), "unchanged", existing.rows, existing.bad_rows)
    meta: dict[str, Any] = {"path": key, "sha256": sha, "existing": existing,
            "stamp": stamp}
    parser = {"status": schema.parse_status, "hours": schema.parse_hours,
              "timezones": schema.parse_timezones}[kind]
    try:
        parsed = parser(gunzip(data))  # a .csv.gz is read as its CSV; sha256 is the file's
    except FileRejected as exc:
        with db.begin() as conn:
            ledger_id = ledger.record(conn, PACK, status=ledger.REJECTED, rows=0, bad_rows=0,
                                      error=str(exc), **meta)
            quarantine.replace(conn, PACK, ledger_id, [])
        return FileResult(kind, str(path), "rejected", error=str(exc))
    frame = parsed.frame
    with db.begin() as conn:
        keys = store_keys(conn, frame["store_id"])
        frame = frame.join(keys, on="store_id", how="left")
        writer = {"status": _write_polls, "hours": _write_hours, "timezones": _write_zones}[kind]
        new_rows = writer(conn, frame)
        ledger_id = ledger.record(conn, PACK, status=ledger.INGESTED, rows=frame.height,
                                  bad_rows=len(parsed.bad), error=None, **meta)
        quarantine.replace(conn, PACK, ledger_id, parsed.bad)
    return FileResult(kind, str(path), "loaded", frame.height, len(parsed.bad), new_rows)


def store_keys(conn: Connection, ids: pl.Series) -> pl.DataFrame:
    """store_id -> store_key for every id in `ids`, creating the stores not seen before."""
    wanted = set(ids.unique().to_list())
    known = {r.store_id: r.store_key for r in conn.execute(select(stores.c.store_id,
                                                                  stores.c.store_key))}
    missing = sorted(wanted - set(known))
    for start in range(0, len(missing), 10_000):
        insert_missing(conn, stores, [{"store_id": s} for s in missing[start:start + 10_000]])
    if missing:
        known = {r.store_id: r.store_key for r in conn.execute(select(stores.c.store_id,
                                                                      stores.c.store_key))}
    return pl.DataFrame({"store_id": list(wanted), "store_key": [known[s] for s in wanted]},
                        schema={"store_id": pl.String, "store_key": pl.Int64})


def _write_polls(conn: Connection, frame: pl.DataFrame) -> int:
    """Insert the polls not stored yet (first row of a duplicate wins); returns how many."""
    # Grouped by store, file order kept within a store (a stable one-key sort: cheap): the
    # B-tree then mostly appends, and the first of two rows for one instant is the one kept.
    rows = frame.select("store_key", "ts_us", "active").sort("store_key", maintain_order=True)
    dialect = conn.dialect.name
    raw: Any = conn.connection.driver_connection
    if dialect == "postgresql":
        return _copy_postgres(raw, rows)
    verb = "INSERT OR IGNORE" if dialect == "sqlite" else "INSERT IGNORE"
    mark = "?" if dialect == "sqlite" else "%s"
    sql = f"{verb} INTO stores_polls (store_key, ts_us, active) VALUES ({mark}, {mark}, {mark})"
    added = 0
    cur = raw.cursor()
    try:
        for chunk in rows.iter_slices(CHUNK):
            cur.executemany(sql, chunk.rows())
            added += max(cur.rowcount, 0)
    finally:
        cur.close()
    return added


def _copy_postgres(raw: Any, rows: pl.DataFrame) -> int:
    """COPY into a temporary table, then insert what is new: the fast path on PostgreSQL."""
    with raw.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE stores_polls_in (store_key BIGINT, ts_us BIGINT, "
                    "active SMALLINT) ON COMMIT DROP")
        with cur.copy("COPY stores_polls_in (store_key, ts_us, active) FROM STDIN") as copy:
            for chunk in rows.iter_slices(CHUNK):
                copy.write(chunk.write_csv(include_header=False, separator="\t"))
        cur.execute("INSERT INTO stores_polls SELECT * FROM stores_polls_in "
                    "ON CONFLICT (store_key, ts_us) DO NOTHING")
        return int(max(cur.rowcount, 0))


def _write_hours(conn: Connection, frame: pl.DataFrame) -> int:
    """Replace the hours of every store the file names with the file's rows."""
    rows = frame.select("store_key", "day", "start_s", "end_s").unique().sort(pl.all())
    named = rows["store_key"].unique().to_list()
    for start in range(0, len(named), 5_000):
        part = named[start:start + 5_000]
        conn.execute(delete(hours).where(hours.c.store_key.in_(part)))
    if rows.height:
        conn.execute(hours.insert(), rows.to_dicts())
    return rows.height


def _write_zones(conn: Connection, frame: pl.DataFrame) -> int:
    """Set each named store's zone; the last row of a store wins."""
    rows = frame.unique("store_key", keep="last", maintain_order=True)
    stmt = (update(stores).where(stores.c.store_key == bindparam("key"))
            .values(timezone=bindparam("tz")))
    params = [{"key": k, "tz": tz} for k, tz in rows.select("store_key", "timezone_str").iter_rows()]
    if params:
        conn.execute(stmt, params)
    return rows.height
