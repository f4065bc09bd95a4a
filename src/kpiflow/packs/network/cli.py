"""`kpiflow network ...`: run a pass, generate sample data, show the top ids."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection, Engine

from kpiflow.config import ENGINES
from kpiflow.console import (
    Format,
    FormatOption,
    at_least,
    counts_table,
    emit,
    fail,
    note,
    out,
    progress_reporter,
    rejected_hint,
    usage,
)
from kpiflow.errors import ConfigError, KpiflowError
from kpiflow.ingest import history
from kpiflow.packs.network import statecli
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.packs.network.kpis import KPIS, Kpi
from kpiflow.packs.network.pack import PACK
from kpiflow.registry import Ref, lazy_modules
from kpiflow.runtime import Runtime

# What a pass or a read needs loads when a command runs, not for `kpiflow network --help`.
if TYPE_CHECKING:
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.network import generate as gen
    from kpiflow.packs.network import queries, schema
else:
    run_job = Ref("kpiflow.lifecycle:run_job")
    gen, queries, schema = lazy_modules("kpiflow.packs.network.generate",
                                        "kpiflow.packs.network.queries",
                                        "kpiflow.packs.network.schema")

app = typer.Typer(help="Network KPIs: top services by traffic, top cells by unique users.",
                  no_args_is_help=True)
app.add_typer(statecli.app, name="state")


def parse_instant(text: str) -> datetime:
    """ISO 8601 (a trailing Z is fine); a time without zone is UTC; within the data's range."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 date-time: {text!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError):  # 0001-01-01T00:00+01:00 is before any UTC datetime
        ms = -1
    if not 0 <= ms <= schema.LAST_START_MS:
        raise ConfigError(f"outside 1970-01-01 .. 9999-12-31T22:55Z: {text!r}")
    return moment


def instant_option(option: str, text: str) -> datetime:
    """`parse_instant` for a command-line option: a bad value is a usage error (exit 2)."""
    try:
        return parse_instant(text)
    except ConfigError as exc:
        usage(f"{option}: {exc}")


def _network_settings(rt: Runtime, top_n: int | None) -> NetworkSettings:
    net = rt.settings_of(PACK, NetworkSettings)
    if top_n is None:
        return net
    return NetworkSettings(**{**net.model_dump(), "top_n": top_n})


class Interval(StrEnum):
    """The KPI intervals, in minutes."""

    FIVE_MINUTES = "5"
    HOUR = "60"


def _with_engine(ctx: typer.Context, engine: str | None, master: str | None = None) -> Runtime:
    """The runtime, with this command's `--engine` and `--spark-master` over the settings."""
    rt: Runtime = ctx.obj
    update: dict[str, str] = {}
    if engine is not None and engine != rt.settings.engine:
        if engine not in ENGINES:
            usage(f"--engine must be one of: {', '.join(ENGINES)} (not {engine!r})")
        update["engine"] = engine
    if master is not None and master != rt.settings.spark_master:
        if not master.strip():
            usage("--spark-master must not be empty")
        update["spark_master"] = master
    if not update:
        return rt
    chosen = Runtime(rt.settings.model_copy(update=update), rt.packs, rt.pack_settings)
    ctx.call_on_close(chosen.close)
    return chosen


@app.command(epilog="Example: kpiflow --data-dir /srv/network network run --format json")
def run(
    ctx: typer.Context,
    top_n: Annotated[int | None, typer.Option("--top-n", min=1, help="Ids per interval.")] = None,
    fmt: FormatOption = Format.TABLE,
    engine: Annotated[str | None, typer.Option(
        help=f"KPI engine: {', '.join(ENGINES)} (env KPIFLOW_ENGINE).", show_default=False)] = None,
    spark_master: Annotated[str | None, typer.Option(
        help="Spark master URL for --engine spark (env KPIFLOW_SPARK_MASTER; default local[*]).",
        show_default=False)] = None,
) -> None:
    """Ingest new or changed files once and update the affected KPIs.

    Exit 0 done, 1 could not run (database, DATA_DIR), 3 done but some files were rejected or
    rows quarantined. Files waiting: still being written (or gone) while read; the next pass
    takes them.
    """
    rt = _with_engine(ctx, engine, spark_master)
    used = rt.settings.engine + (f" ({rt.settings.spark_master})"
                                 if rt.settings.engine == "spark" else "")
    with progress_reporter() as progress:
        try:
            summary = run_job(rt, rt.pack(PACK), "ingest", progress, _network_settings(rt, top_n))
        except KpiflowError as exc:
            fail(exc)
    counts = summary.counts()
    emit([counts], fmt, counts_table(counts, f"network run on {used}"))
    note(f"engine: {used}")
    if counts.get("files_waiting"):
        note(f"{counts['files_waiting']:,} files waiting: still being written or gone while "
             "read; the next pass takes them")
    rejected_hint(PACK, int(counts.get("files_rejected", 0)), int(counts.get("bad_rows", 0)))


@app.command(epilog="Example: kpiflow network generate --out data --start 2026-03-01T00:00Z --hours 2")
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    start: Annotated[str, typer.Option(help="First interval, ISO 8601 (UTC if no zone).")],
    hours: Annotated[float, typer.Option(
        callback=at_least(1 / 12, "5 minutes (1/12 hour)"), help="Hours of data.")] = 1.0,
    rows_per_interval: Annotated[int, typer.Option(min=1, max=50_000_000)] = 10_000,
    parts: Annotated[int, typer.Option(min=1, max=1000, help="Part files per interval.")] = 2,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Write deterministic, realistic sample files in the seed naming scheme."""
    first = instant_option("--start", start)
    with progress_reporter() as progress:
        files = gen.generate(out_dir, first, hours, rows_per_interval, parts, seed,
                             lambda done, total: progress("intervals", done, total))
    rows = round(hours * 12) * rows_per_interval
    out.print(f"wrote {len(files):,} files, {rows:,} rows under {out_dir}")


@app.command(epilog="Example: kpiflow network top --interval 5 --at 2026-03-01T10:05Z")
def top(
    ctx: typer.Context,
    interval: Annotated[Interval, typer.Option(help="Minutes: 5 or 60 (hourly).")] = Interval.HOUR,
    at: Annotated[str | None, typer.Option(help="Interval start, ISO 8601; default latest.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Show the top services and cells of one interval.

    Exit 0 also when the interval has no data: it says so on stderr (and JSON/CSV are empty).
    """
    rt: Runtime = ctx.obj
    minutes = int(interval.value)
    start = int(instant_option("--at", at).timestamp() * 1000) if at else None
    try:
        with _reader(rt).connect() as conn:
            rows, tables = [], []
            for kpi in KPIS:
                found, table = _top(conn, kpi, minutes, start)
                rows += found
                tables += [table] if table is not None else []
    except KpiflowError as exc:
        fail(exc)
    for table in tables if fmt is Format.TABLE else []:
        out.print(table)
    if fmt is not Format.TABLE:
        emit(rows, fmt, None)


def _top(conn: Connection, kpi: Kpi, interval: int, start: int | None
         ) -> tuple[list[dict[str, object]], Table | None]:
    begin = start if start is not None else queries.latest_interval(conn, kpi, interval)
    if begin is None:
        note(f"{kpi.name}: no data yet; run `kpiflow network run` first")
        return [], None
    f = queries.KpiFilter(interval=interval, start=begin, end=begin + interval * 60_000)
    when = datetime.fromtimestamp(begin / 1000, UTC).isoformat().replace("+00:00", "Z")
    found = queries.kpi_rows(conn, kpi, f)
    if not found:
        note(f"{kpi.name}: no data for the {interval}-minute interval from {when}")
        return [], None
    table = Table("rank", kpi.id_column, kpi.value_column,
                  title=f"{kpi.name}, {interval}-minute interval from {when}")
    for row in found:
        table.add_row(str(row["rank"]), str(row[kpi.id_column]), f"{row[kpi.value_column]:,}")
    rows = [{"kpi": kpi.name, "interval": interval, "interval_start": when, "rank": r["rank"],
             "id": r[kpi.id_column], "value": r[kpi.value_column]} for r in found]
    return rows, table


def _reader(rt: Runtime) -> Engine:
    """The database for a command that only reads: never migrated nor locked from here."""
    rt.require_schema()
    return rt.db


@app.command(epilog="Example: kpiflow network ledger --status rejected --format csv")
def ledger(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(
        help="Only `ingested`, `rejected` or `unreadable` files.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Show each input file's status: rows, bad rows, and why a file was rejected."""
    rt: Runtime = ctx.obj
    if status not in (None, "ingested", "rejected", "unreadable"):
        usage("--status must be ingested, rejected or unreadable")
    try:
        with _reader(rt).connect() as conn:
            rows = history.ledger_rows(conn, PACK, status, limit)
            total = history.ledger_count(conn, PACK, status)
    except KpiflowError as exc:
        fail(exc)
    table = Table(title=f"network ledger: {len(rows):,} of {total:,} files, newest first")
    for column in ("path", "status", "rows", "bad rows", "updated (UTC)", "note"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["path"], r["status"], f"{r['rows']:,}", f"{r['bad_rows']:,}",
                      r["updated_at"].strftime("%Y-%m-%d %H:%M:%S"), r["error"] or "")
    emit(rows, fmt, table)


@app.command(epilog="Example: kpiflow network quarantine --limit 20 --format json")
def quarantine(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Rows to show.")] = 50,
    export: Annotated[
        Path | None, typer.Option(help="Write every quarantined row to this CSV file.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """List quarantined rows (file, line, reason, raw text), or export them all as CSV."""
    rt: Runtime = ctx.obj
    try:
        with _reader(rt).connect() as conn:
            if export is not None:
                written = _export_quarantine(conn, export)
                out.print(f"wrote {written:,} quarantined rows to {export}")
                return
            rows = history.quarantine_rows(conn, PACK, limit)
            total = history.quarantine_count(conn, PACK)
    except OSError as exc:
        fail(f"cannot write {export}: {exc.strerror or exc}")
    except KpiflowError as exc:
        fail(exc)
    table = Table(title=f"network quarantine: {len(rows):,} of {total:,} rows")
    for column in ("path", "line", "reason", "raw"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["path"], str(r["line"]), r["reason"], r["raw"])
    emit(rows, fmt, table)


def _export_quarantine(conn: Connection, target: Path) -> int:
    """Stream every quarantined row to CSV, a page at a time; returns the number written."""
    page, written = 10_000, 0
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "line", "reason", "raw"])
        while rows := history.quarantine_rows(conn, PACK, page, written):
            writer.writerows([r["path"], r["line"], r["reason"], r["raw"]] for r in rows)
            written += len(rows)
    return written
