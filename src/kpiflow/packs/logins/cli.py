"""`kpiflow logins ...`: extract logins, show distinct users per period, generate sample logs."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from kpiflow.console import fail, out, progress_reporter
from kpiflow.errors import KpiflowError
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.packs.logins.periods import Grain
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


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: not a date (YYYY-MM-DD): {text!r}")


def _settings(rt: Runtime, source: str | None) -> LoginsSettings:
    settings = rt.settings_of(pipeline.PACK, LoginsSettings)
    if source is None:
        return settings
    return LoginsSettings(**{**settings.model_dump(), "logins_source": source})


@app.command()
def run(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(
        help="JSON-lines file or folder, or a database URL (default KPIFLOW_LOGINS_SOURCE).")] = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default today).")] = None,
    reset: Annotated[bool, typer.Option(help="Forget the checkpoint; start over.")] = False,
) -> None:
    """Extract logins day by day into stored daily user sets (resumes at the checkpoint)."""
    rt: Runtime = ctx.obj
    options = pipeline.RunOptions(_date("--start", start), _date("--end", end), reset)
    pack = rt.pack(pipeline.PACK)
    job = dataclasses.replace(pack.job("extract"), run=partial(pipeline.extract, options=options))
    with progress_reporter() as progress:
        try:
            summary = run_job(rt, pack, job, progress, _settings(rt, source))
        except KpiflowError as exc:
            fail(exc)
    table = Table("what", "count", title="logins run")
    for what, count in summary.counts().items():
        table.add_row(what.replace("_", " "), f"{count:,}")
    out.print(table)


@app.command()
def uniques(
    ctx: typer.Context,
    aggregate: Annotated[str, typer.Option(help="D, W, M, Q or Y.")] = "W",
    start: Annotated[str | None, typer.Option(help="First day (default 90 days before end).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (default today).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Distinct users per period from the stored days (never a sum of smaller periods)."""
    rt: Runtime = ctx.obj
    if aggregate.upper() not in Grain.__members__:
        fail(f"--aggregate must be one of D, W, M, Q, Y, not {aggregate!r}")
    if fmt not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json, not {fmt!r}")
    settings = rt.settings_of(pipeline.PACK, LoginsSettings)
    last = _date("--end", end) or pipeline.today(settings)
    first = _date("--start", start) or last - timedelta(days=90)
    if first > last:
        fail(f"--start {first} is after --end {last}")
    try:
        rt.ensure_schema()
        with rt.db.connect() as conn:
            result = queries.uniques(conn, settings, Grain(aggregate.upper()), first, last)
    except KpiflowError as exc:
        fail(exc)
    if fmt == "csv":
        typer.echo(result.to_csv(), nl=False)
        return
    if fmt == "json":
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    table = Table("period", "unique users", "days covered", "days in period", "complete",
                  title=f"unique users per {result.aggregate.value}, days in {result.timezone}, "
                  f"weeks {result.week_ends}, extracted through {result.checkpoint or 'never'}")
    for p in result.periods:
        table.add_row(p.period.isoformat(), f"{p.unique_users:,}", str(p.days_covered),
                      str(p.days_in_period), "yes" if p.complete else "no")
    out.print(table)


@app.command()
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
        fail(f"--form must be plain, gzip or mongo, not {form!r}")
    assert first is not None
    files = gen.generate(out_dir, lines, users, first, days, seed, form)  # type: ignore[arg-type]
    out.print(f"wrote {lines:,} lines in {len(files)} files under {out_dir}")
