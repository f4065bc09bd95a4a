"""The `kpiflow` command: global flags build the settings, packs add their sub-commands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from kpiflow.config import Settings
from kpiflow.console import fail, format_count, out
from kpiflow.errors import KpiflowError
from kpiflow.ingest import history
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.store.db import redacted

app = typer.Typer(help="kpiflow: operational data to exact KPIs.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

PACKS = discover_packs()
for _pack in PACKS:
    if _pack.cli is not None:
        app.add_typer(_pack.cli, name=_pack.name)
    for _command in _pack.commands:
        if isinstance(_command.callback, typer.Typer):
            app.add_typer(_command.callback, name=_command.name, help=_command.help or None)
        else:
            app.command(_command.name, help=_command.help or None)(_command.callback)


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (env DATABASE_URL).", show_default=False)
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Input folder (env DATA_DIR).")] = None,
    state_dir: Annotated[
        Path | None, typer.Option(help="State folder (env KPIFLOW_STATE_DIR).")
    ] = None,
) -> None:
    """Build the settings once: flags, then env vars, then `.env`, then defaults."""
    flags: dict[str, Any] = {"database_url": database_url, "data_dir": data_dir, "state_dir": state_dir}
    try:
        settings = Settings(**{k: v for k, v in flags.items() if v is not None})
        runtime = Runtime.build(settings, PACKS)
        ctx.obj = runtime
        ctx.call_on_close(runtime.close)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))  # empty for a rule across settings
        message = first["msg"].removeprefix("Value error, ")
        fail(f"invalid setting {where}: {message}" if where else f"invalid settings: {message}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema of core and every pack."""
    rt: Runtime = ctx.obj
    try:
        rt.ensure_schema()
    except KpiflowError as exc:
        fail(exc)
    out.print(f"schema up to date on {redacted(rt.settings.database_url)}")


@app.command()
def runs(
    ctx: typer.Context,
    pack: Annotated[str | None, typer.Option(help="Only this pack's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Runs to show.")] = 20,
) -> None:
    """Show the last runs of every pack with their own counts (reads only)."""
    rt: Runtime = ctx.obj
    try:
        rt.require_schema()
        with rt.db.connect() as conn:
            rows = history.last_runs(conn, pack, limit)
    except KpiflowError as exc:
        fail(exc)
    table = Table("started (UTC)", "job", "status", title=f"last {len(rows):,} runs, newest first")
    table.add_column("counts", no_wrap=True, min_width=24)
    table.add_column("error", overflow="fold")
    for r in rows:
        counts = "\n".join(f"{k.replace('_', ' ')} {format_count(v)}"  # one a line: no wrap
                            for k, v in r["counts"].items())
        table.add_row(r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                      f"{r['pack']}.{r['job'] or ''}", r["status"], counts, r["error"] or "")
    out.print(table)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (KPIFLOW_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (KPIFLOW_API_PORT).")] = None,
    root_path: Annotated[str, typer.Option(help="Path prefix behind a reverse proxy.")] = "",
    schedule: Annotated[bool, typer.Option(help="Run the packs' jobs on schedule.")] = True,
) -> None:
    """Serve the API (docs at /docs) and run every pack's jobs on schedule."""
    import uvicorn

    from kpiflow.server import create_app

    rt: Runtime = ctx.obj
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rt.check_database()
    except KpiflowError as exc:
        fail(exc)
    uvicorn.run(
        create_app(rt, schedule=schedule),
        host=host or rt.settings.api_host,
        port=port or rt.settings.api_port,
        root_path=root_path,
    )


def main() -> None:
    """Console-script entry point."""
    app()
