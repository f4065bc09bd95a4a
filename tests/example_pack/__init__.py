"""A pack that lives outside kpiflow: proves a new pack plugs in without editing anything else.

It declares one of everything a pack author writes (docs/architecture.md): settings, a table
and its migration, a job on a cron trigger that quarantines a row from no file, a page, a
route, a `kpiflow example ...` sub-app, a top-level command and `serve` hooks. Tests pass it to
`Runtime.build` like a discovered pack; `site/` holds its entry point for a real `kpiflow`
process (put that folder and the repository root on PYTHONPATH).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from fastapi import APIRouter, Request
from pydantic import Field
from pydantic_settings import BaseSettings
from sqlalchemy import BigInteger, Column, MetaData, Table, func, insert, select

from kpiflow.config import settings_config
from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.ingest import quarantine
from kpiflow.registry import Command, Hooks, Job, Pack, Page, RunContext, ServeContext, Summary

NAME = "example"
SITE = Path(__file__).parent / "site"
HOOK_CALLS: list[str] = []  # what the serve hooks did, in order, for the tests to check


class ExampleSettings(BaseSettings):
    """The example's own settings (env prefix KPIFLOW_, like every pack)."""

    model_config = settings_config()

    example_cron: str = Field("30 1 * * *", description="When the tally job runs (crontab).")
    example_timezone: str = Field("Europe/Athens", description="Zone of the cron expression.")


metadata = MetaData()
things = Table("example_things", metadata, Column("id", BigInteger, primary_key=True))


@dataclass
class TallySummary(Summary):
    """The example job's counts: things stored after the run, rows quarantined by it."""

    things: int = 0
    quarantined: int = 0


def tally(ctx: RunContext[ExampleSettings]) -> TallySummary:
    """Add one thing; quarantine one bad pushed row (a source that is no file)."""
    bad = [quarantine.BadRow(1, "value: not a number", '{"value": "many"}')]
    ctx.progress("things", 0, 1)
    with ctx.db.begin() as conn:
        count = conn.execute(select(func.count()).select_from(things)).scalar_one() + 1
        conn.execute(insert(things).values(id=count))
        quarantine.add(conn, NAME, f"pushed batch {ctx.run_id}", bad)
        ctx.safe_point("tallied")
    ctx.progress("things", 1, 1)
    return TallySummary(things=int(count), quarantined=len(bad))


def render(ctx: PageContext) -> PageContent:
    """A page of a pack the dashboard has never heard of."""
    packs = ", ".join(p.name for p in ctx.runtime.packs)
    return PageContent(f'<h1 id="example">Example pack</h1><p>packs: {packs}</p>',
                       scripts=("document.getElementById('example').dataset.ran = '1';",))


router = APIRouter(tags=["example"])


@router.get("/api/v1/example/ping")
def ping(request: Request) -> dict[str, str | bool]:
    """Answer, with what the startup hook left for the routes."""
    resources = request.app.state.pack_resources[NAME]
    return {"example": "pong", "started": bool(resources.get("started"))}


def startup(ctx: ServeContext[ExampleSettings]) -> None:
    """`serve` startup hook: leave something for the routes."""
    ctx.resources["started"] = True
    HOOK_CALLS.append("startup")


def shutdown(ctx: ServeContext[ExampleSettings]) -> None:
    """`serve` shutdown hook: take it back."""
    ctx.resources.pop("started", None)
    HOOK_CALLS.append("shutdown")


cli = typer.Typer(help="The example pack's sub-commands.", no_args_is_help=True)


@cli.command()
def cron(ctx: typer.Context) -> None:
    """Print when the tally job runs."""
    typer.echo(ctx.obj.settings_of(NAME, ExampleSettings).example_cron)


def hello(name: Annotated[str, typer.Option(help="Whom to greet.")] = "world") -> None:
    """Greet: a top-level command of the example pack."""
    typer.echo(f"hello {name}, from the example pack")


pack = Pack(
    name=NAME,
    title="Example",
    settings_model=ExampleSettings,
    tables=(things,),
    migrations=Path(__file__).parent / "migrations",
    cli=cli,
    router=router,
    jobs=(Job("tally", tally, cron=lambda s: s.example_cron,
              timezone=lambda s: s.example_timezone, description="Add a thing, daily."),),
    pages=(Page("/example", "Example", render),),
    commands=(Command("example-hello", hello, help="Greet from the example pack."),),
    hooks=Hooks(startup=startup, shutdown=shutdown),
)
