"""`kpiflow logins ...`: extract logins, show distinct users per period, generate sample logs.

Exit codes as every pack's: 0 done, 1 could not do its job, 2 a bad option (one line, before
anything runs), 3 done but lines were quarantined.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kpiflow.console import (
    Format,
    FormatOption,
    counts_table,
    emit,
    fail,
    out,
    progress_reporter,
    rejected_hint,
    usage,
)
from kpiflow.errors import KpiflowError
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import FIRST_DAY, LAST_DAY, MAX_RANGE_DAYS, NAMES, Grain
from kpiflow.registry import Ref, lazy_modules
from kpiflow.runtime import Runtime

# What a command needs loads when it runs, not for `kpiflow logins --help`.
if TYPE_CHECKING:
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.logins import generate as gen
    from kpiflow.packs.logins import pipeline, queries
else:
    run_job = Ref("kpiflow.lifecycle:run_job")
    gen, pipeline, queries = lazy_modules(*(f"kpiflow.packs.logins.{m}" for m in (
        "generate", "pipeline", "queries")))

app = typer.Typer(help="Unique users per day, week, month, quarter and year from login logs.",
                  no_args_is_help=True)


QUARANTINE = ("the Ingest page of the dashboard, or GET /api/v1/ledger/?pack=logins and "
              "GET /api/v1/quarantine/?pack=logins (file, line, reason)")


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        usage(f"{option}: not a date, give YYYY-MM-DD (e.g. 2024-01-31), not {text!r}")


def _range(settings: LoginsSettings, start: str | None, end: str | None, *,
           query: bool = False) -> tuple[date | None, date | None]:
    """--start and --end as dates, checked against each other and the days the API takes; a
    run's end is at most today (in the configured zone), a query's span at most the API's."""
    first, last = _date("--start", start), _date("--end", end)
    now = pipeline.today(settings)
    for option, day in (("--start", first), ("--end", last)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            usage(f"{option} {day} is outside {FIRST_DAY} .. {LAST_DAY}")
    if not query and last is not None and last > now:
        usage(f"--end {last} is after today ({now} in {settings.logins_timezone}): "
               "give today or an earlier day")
    if first is not None and first > (last or now):
        usage(f"--end {last or now} is before --start {first}: give a start on or before "
               "the end")
    if query and first is not None and ((last or now) - first).days > MAX_RANGE_DAYS:
        usage(f"--start {first} to --end {last or now} is more than {MAX_RANGE_DAYS:,} days: "
               "ask for a shorter range")
    return first, last


def _settings(rt: Runtime, source: str | None) -> LoginsSettings:
    settings = rt.settings_of(pipeline.PACK, LoginsSettings)
    if source is None:
        return settings
    return LoginsSettings(**{**settings.model_dump(), "logins_source": source})


@app.command(epilog="Example: kpiflow logins run --source /var/log/app --start 2024-01-01 "
             "--format json")
def run(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(
        help="JSON-lines file or folder, or a database URL (default KPIFLOW_LOGINS_SOURCE).")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default today).")] = None,
    reset: Annotated[bool, typer.Option(help="Forget the checkpoint; start over.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Extract logins day by day into stored daily user sets (resumes at the checkpoint).

    Reads only new or changed files and those holding a day it extracts. Exit 0 done, 1 could
    not run (source or database), 2 a bad option, 3 done but lines were quarantined.
    """
    rt: Runtime = ctx.obj
    settings = _settings(rt, source)
    options = pipeline.RunOptions(*_range(settings, start, end), reset)
    pack = rt.pack(pipeline.PACK)
    job = dataclasses.replace(pack.job("extract"), run=partial(pipeline.extract, options=options))
    with progress_reporter() as progress:
        try:
            summary = run_job(rt, pack, job, progress, settings)
        except KpiflowError as exc:
            fail(exc)
    counts = summary.counts()
    emit([counts], fmt, counts_table(counts, "logins run"))
    rejected_hint(pipeline.PACK, int(counts.get("files_rejected", 0)),
                  int(counts.get("bad_lines", 0)), QUARANTINE)


@app.command(epilog="Example: kpiflow logins uniques --aggregate M --start 2024-01-01 "
             "--end 2024-12-31 --format csv")
def uniques(
    ctx: typer.Context,
    aggregate: Annotated[str, typer.Option(help="D, W, M, Q or Y.")] = "W",
    start: Annotated[str | None, typer.Option(help="First day (default 90 days before end).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (default today).")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Distinct users per period from the stored days (never a sum of smaller periods).

    Exit 0 (also for a range without logins: a 0 per period), 1 no database, 2 a bad option.
    """
    rt: Runtime = ctx.obj
    if aggregate.upper() not in Grain.__members__:
        usage(f"--aggregate must be one of D, W, M, Q, Y (day, week, month, quarter, year), "
               f"not {aggregate!r}")
    settings = rt.settings_of(pipeline.PACK, LoginsSettings)
    given_first, given_last = _range(settings, start, end, query=True)
    last = given_last or pipeline.today(settings)
    first = given_first or last - timedelta(days=90)
    try:
        rt.ensure_schema()
        with rt.db.connect() as conn:
            result = queries.uniques(conn, settings, Grain(aggregate.upper()), first, last)
    except KpiflowError as exc:
        fail(exc)
    if fmt is Format.CSV:
        typer.echo(result.to_csv(), nl=False)
        return
    if fmt is Format.JSON:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    table = Table("period", "unique users", "days covered", "days in period", "complete",
                  title=f"unique users per {NAMES[result.aggregate]}, days in {result.timezone}, "
                  f"weeks {result.week_ends}, " + (f"extracted through {result.checkpoint}"
                  if result.checkpoint else "nothing extracted yet (`kpiflow logins run`)"))
    for p in result.periods:
        table.add_row(p.period.isoformat(), f"{p.unique_users:,}", str(p.days_covered),
                      str(p.days_in_period), "yes" if p.complete else "no")
    out.print(table)


@app.command(epilog="Example: kpiflow logins generate --out logs --lines 10000000 --users 100000 "
             "--days 730 --seed 0")
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("logs"),
    lines: Annotated[int, typer.Option(min=1, max=200_000_000)] = 1_000_000,
    users: Annotated[int, typer.Option(min=1, max=10_000_000)] = 100_000,
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = "2024-01-01",
    days: Annotated[int, typer.Option(min=1, max=36_600)] = 730,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    form: Annotated[str, typer.Option(help="plain, gzip or mongo (mongoexport style).")] = "plain",
) -> None:
    """Write seeded sample logs, one JSON-lines file per month."""
    first = _date("--start", start)
    if form not in ("plain", "gzip", "mongo"):
        usage(f"--form must be plain, gzip or mongo, not {form!r}")
    assert first is not None
    files = gen.generate(out_dir, lines, users, first, days, seed, form)  # type: ignore[arg-type]
    out.print(f"wrote {lines:,} lines in {len(files)} files under {out_dir}")
