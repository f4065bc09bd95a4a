"""`kpiflow stores ...`: load files, report, explain one store, generate sample polls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kpiflow.console import (
    Format,
    FormatOption,
    at_least,
    counts_table,
    emit,
    fail,
    out,
    progress_reporter,
    rejected_hint,
    usage,
)
from kpiflow.errors import ConfigError, KpiflowError
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.registry import Ref, lazy_modules
from kpiflow.runtime import Runtime

# What a command needs loads when it runs, not for `kpiflow stores --help`.
if TYPE_CHECKING:
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.stores import explain as ex
    from kpiflow.packs.stores import generate as gen
    from kpiflow.packs.stores import jobs, load, schema
    from kpiflow.packs.stores import report as rep
else:
    run_job = Ref("kpiflow.lifecycle:run_job")
    ex, gen, jobs, load, schema, rep = lazy_modules(*(f"kpiflow.packs.stores.{m}" for m in (
        "explain", "generate", "jobs", "load", "schema", "report")))

app = typer.Typer(help="Store uptime and downtime within business hours.", no_args_is_help=True)

NowOption = Annotated[str | None, typer.Option(
    "--now", help="End of the windows, ISO 8601 (UTC if no zone); default the latest poll.")]


def _now(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return schema.parse_instant_us(text)
    except ValueError as exc:
        usage(f"--now: {exc}")


def _stores_settings(rt: Runtime) -> StoresSettings:
    return rt.settings_of(load.PACK, StoresSettings)


@app.command("load", epilog="Example: kpiflow stores load --status store_status.csv "
             "--hours menu_hours.csv --timezones timezones.csv")
def load_cmd(
    ctx: typer.Context,
    status: Annotated[Path | None, typer.Option(help="Polls: store_id, timestamp_utc, status.")] = None,
    hours: Annotated[Path | None, typer.Option(
        help="Business hours: store_id, day|dayOfWeek, start_time_local, end_time_local.")] = None,
    timezones: Annotated[Path | None, typer.Option(help="Zones: store_id, timezone_str.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Load (or incrementally add) the CSV files; bad rows are quarantined with a reason.

    Exit 3 when a file was rejected or rows were quarantined (the rest is loaded).
    """
    rt: Runtime = ctx.obj
    files = {k: v for k, v in (("status", status), ("hours", hours), ("timezones", timezones))
             if v is not None}
    if not files:
        usage("give at least one of --status, --hours, --timezones")
    with progress_reporter() as progress:
        try:
            summary = run_job(rt, rt.pack(load.PACK), load.load_job(files), progress)
        except KpiflowError as exc:
            fail(exc)
    assert isinstance(summary, load.LoadSummary)  # what load_files returns
    if fmt is Format.TABLE:
        table = Table("file", "kind", "outcome", "rows", "bad rows", "new", title="stores load")
        for f in summary.files:
            table.add_row(f.path, f.kind, f.outcome if not f.error else f"{f.outcome}: {f.error}",
                          f"{f.rows:,}", f"{f.bad_rows:,}", f"{f.new_rows:,}")
        out.print(table)
        out.print(counts_table(summary.counts(), "stores load: counts (kept in the run log)"))
        rate = summary.rows / summary.seconds if summary.seconds else 0.0
        out.print(f"{summary.rows:,} rows in {summary.seconds:.2f} s ({rate:,.0f} rows/s)")
    else:  # one row per file, the outcome and counts a script needs
        emit([{"path": f.path, "kind": f.kind, "outcome": f.outcome, "error": f.error or "",
               "rows": f.rows, "bad_rows": f.bad_rows, "new_rows": f.new_rows}
              for f in summary.files], fmt, None)
    rejected_hint("stores", sum(1 for f in summary.files if f.error),
                  sum(f.bad_rows for f in summary.files),
                  "the Ingest page of the dashboard, or GET /api/v1/ledger/?pack=stores and "
                  "GET /api/v1/quarantine/?pack=stores")


@app.command("report", epilog="Example: kpiflow stores report --now 2023-01-25T18:13:22Z -o report.csv")
def report_cmd(
    ctx: typer.Context,
    now: NowOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write the CSV here (default stdout).")] = None,
    detail: Annotated[bool, typer.Option(
        help="Add business time per window (and unknown time with --max-hold).")] = False,
    max_hold: Annotated[str | None, typer.Option(
        "--max-hold", help="With --detail: a poll vouches for at most this long (e.g. 90m).")] = None,
) -> None:
    """The uptime/downtime report: one row per store that has polls."""
    rt: Runtime = ctx.obj
    hold_us = None
    if max_hold is not None:
        try:
            hold_us = schema.parse_duration(max_hold) * 1_000_000
        except ValueError as exc:
            usage(f"--max-hold: {exc}")
    options = jobs.ReportOptions(now_us=_now(now), detail=detail or hold_us is not None,
                                 max_hold_us=hold_us)
    with progress_reporter() as progress:
        try:
            rt.require_schema()  # reads only: never migrates nor locks
            table, now_us = jobs.build_report(rt.db, _stores_settings(rt), options, progress)
            text = rep.to_csv(table)
            if output is not None:
                jobs.write_atomic(output, text)
        except KpiflowError as exc:
            fail(exc)
    if output is None:
        typer.echo(text, nl=False)
    else:
        when = datetime.fromtimestamp(now_us / 1e6, UTC).isoformat()
        out.print(f"{table.height:,} stores as of {when} written to {output}")


def _fmt(moment: datetime | None, none: str) -> str:
    return none if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z")


@app.command("explain", epilog="Example: kpiflow stores explain 8419537941919820732")
def explain_cmd(ctx: typer.Context, store_id: str, now: NowOption = None) -> None:
    """Show one store's business intervals, polls and how each minute was counted."""
    rt: Runtime = ctx.obj
    try:
        rt.require_schema()  # reads only: never migrates nor locks
        e = ex.explain(rt.db, _stores_settings(rt), store_id, _now(now))
    except KpiflowError as exc:
        fail(exc)
    zone = f"{e.zone} (default: not in the timezones file)" if e.zone_is_default else e.zone
    out.print(f"store {e.store_id}, zone {zone}, now {_fmt(e.now, '')}")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    if e.hours_rows:
        out.print("hours: " + "; ".join(f"{days[d]} {a}-{b}" for d, a, b in e.hours_rows))
    else:
        out.print("hours: none loaded, so open 24x7")
    for name, (lo, hi) in e.windows.items():
        table = Table("local start", "local end", "UTC start", "UTC end", "minutes",
                      title=f"business intervals, last {name} [{_fmt(lo, '')}, {_fmt(hi, '')})")
        for i in e.intervals[name]:
            table.add_row(_fmt(i.start_local, ""), _fmt(i.end_local, ""), _fmt(i.start_utc, ""),
                          _fmt(i.end_utc, ""), f"{i.minutes:.2f}")
        out.print(table)
    table = Table("from (UTC)", "until (UTC)", "status", "hour min", "day min", "week min",
                  title="status segments: each poll holds until the next (first one back-fills)")
    for s in e.segments:
        if not any(s.business_minutes.values()):
            continue
        table.add_row(_fmt(s.start_utc, "(before first poll)"), _fmt(s.end_utc, "(no later poll)"),
                      "active" if s.active else "inactive",
                      *(f"{s.business_minutes[w]:.2f}" for w in ("hour", "day", "week")))
    out.print(table)
    out.print(f"{len(e.polls)} polls read; segments counting no business time are not shown")
    row = Table(*e.row.keys(), title="report row (hour in minutes, day and week in hours)")
    row.add_row(*(str(v) for v in e.row.values()))
    out.print(row)


@app.command("generate", epilog="Example: kpiflow stores generate --hours menu_hours.csv --days 2")
def generate_cmd(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path(
        "store_status.csv"),
    hours: Annotated[Path | None, typer.Option(help="Business hours file (store ids).")] = None,
    timezones: Annotated[Path | None, typer.Option(help="Timezones file (store ids).")] = None,
    start: Annotated[str, typer.Option(help="First hour, ISO 8601 (UTC if no zone).")] =
        "2023-01-18T00:00:00Z",
    days: Annotated[float, typer.Option(
        callback=at_least(1 / 24, "1 hour (1/24 day)"), max=366, help="Days of polls.")] = 7.0,
    stores: Annotated[int, typer.Option(
        min=1, max=1_000_000, help="Synthetic store count when no hours/timezones file is "
        "given.")] = 1000,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Write realistic polls (about one per store per hour, outages in runs), deterministic."""
    try:
        first = datetime.fromtimestamp(schema.parse_instant_us(start) / 1e6, UTC)
    except ValueError as exc:
        usage(f"--start: {exc}")
    try:
        ids = gen.store_ids(hours, timezones, _read_timeout(ctx)) if (
            hours or timezones) else [str(10**18 + i) for i in range(stores)]
    except (OSError, ValueError) as exc:
        fail(f"cannot read the --hours/--timezones file: {_first_line(exc)}")
    if not ids:
        fail(ConfigError("no store ids in the given files"))
    try:
        count = gen.generate(ids, first, days, seed, out_file)
    except KpiflowError as exc:
        fail(f"--out: {exc}")
    out.print(f"wrote {count:,} polls for {len(ids):,} stores to {out_file}")


def _first_line(exc: Exception) -> str:
    """An error's message as one line (polars' run to several)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _read_timeout(ctx: typer.Context) -> float:
    rt: Runtime = ctx.obj
    return rt.settings.read_timeout_seconds
