"""The `kpiflow` command: global flags build the settings, packs add their sub-commands.

Start-up is light: a pack's sub-commands and top-level commands are listed from its `Pack`
(name, description, command help) and imported only when they run or show their own help, and
what a command needs beyond Typer and Rich (settings, database, health) loads inside it. So
`kpiflow --help` imports no dataframe, database or web library (tests/test_startup.py).
"""

from __future__ import annotations

import inspect
import socket
import sys
from collections.abc import Callable
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from typer._click import Command as ClickCommand
from typer._click import Context as ClickContext
from typer.core import TyperCommand, TyperGroup

from kpiflow import logs
from kpiflow.console import USAGE, Format, FormatOption, emit, err, fail, format_count, out, quiet
from kpiflow.errors import KpiflowError
from kpiflow.registry import Command, Pack, discover_packs
from kpiflow.runtime import Runtime

if TYPE_CHECKING:
    from kpiflow.health import PackHealth

ROOT_HELP = (
    "kpiflow: operational data to exact KPIs.\n\n"
    "Global options (--database-url, --data-dir, --log-level, --quiet, ...) go before the "
    "sub-command: `kpiflow --data-dir /srv/data network run`.\n\n"
    "Exit codes: 0 done, 1 could not do its job, 2 usage error, 3 partly done (some inputs "
    "were rejected: see the pack's `ledger` and `quarantine` commands).")

PACKS = discover_packs()
STANDALONE = frozenset(c.name for p in PACKS for c in p.commands)
"""Top-level pack commands (`kpiflow agent`): they run on their own, with no runtime."""


class Deferred(TyperCommand):
    """A pack's command as `kpiflow --help` lists it (name, one line), imported when it runs
    or shows its own help: the real command then parses the arguments."""

    def __init__(self, name: str, help_text: str, load: Callable[[], ClickCommand]) -> None:
        super().__init__(name=name, help=help_text)
        self._load = load
        self._loaded: ClickCommand | None = None

    def loaded(self) -> ClickCommand:
        """The real command (imported now, the first time)."""
        if self._loaded is None:
            self._loaded = self._load()
            _tidy_help(self._loaded)
        return self._loaded

    def make_context(self, info_name: str | None, args: list[str],
                     parent: ClickContext | None = None, **extra: Any) -> ClickContext:
        return self.loaded().make_context(info_name, args, parent=parent, **extra)


def _pack_cli(pack: Pack[Any]) -> Callable[[], ClickCommand]:
    # A group even with one command (`kpiflow example cron`), as `add_typer` would mount it.
    return lambda: typer.main.get_group(pack.cli or typer.Typer())


def _pack_command(command: Command) -> Callable[[], ClickCommand]:
    def load() -> ClickCommand:
        target = command.load()
        if isinstance(target, typer.Typer):
            return typer.main.get_group(target)
        single = typer.Typer()
        single.command(command.name, help=command.help or None)(target)
        return typer.main.get_command(single)

    return load


class Root(TyperGroup):
    """The root command group: core's commands, then each pack's, deferred."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for pack in PACKS:
            if pack.has_cli:
                self.add_command(Deferred(pack.name, pack.description, _pack_cli(pack)))
            for command in pack.commands:
                self.add_command(Deferred(command.name, command.help, _pack_command(command)))


app = typer.Typer(help=ROOT_HELP, no_args_is_help=True, cls=Root,
                  epilog="Example: kpiflow --database-url sqlite:///kpiflow.db serve --port 8000")
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _show_version(value: bool) -> None:
    if value:
        out.print(f"kpiflow {installed_version('kpiflow')}")
        raise typer.Exit()


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
    log_level: Annotated[
        logs.LogLevel | None, typer.Option(
            help="Log level (default: info for serve, error otherwise).", show_default=False)
    ] = None,
    log_format: Annotated[logs.LogFormat, typer.Option(
        help="Log lines as text or JSON (one object per line).")] = logs.LogFormat.TEXT,
    quiet_flag: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print nothing but errors (for cron); the exit code says how it went.")
    ] = False,
    _version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Build the settings once: flags, then env vars, then `.env`, then defaults."""
    if quiet_flag:
        quiet()
    # A command prints its own outcome (one red line on failure): its log stays quiet unless asked.
    default = logs.LogLevel.INFO if ctx.invoked_subcommand == "serve" else logs.LogLevel.ERROR
    logs.setup(log_level or default, log_format)
    if ctx.invoked_subcommand in STANDALONE:
        return  # the agent needs no settings, database or packs: it loads none of them
    from pydantic import ValidationError

    from kpiflow.config import Settings

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


@db_app.command("upgrade", epilog="Example: kpiflow --database-url postgresql+psycopg://u@db/k db upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema of core and every pack."""
    from kpiflow.store.db import redacted

    rt: Runtime = ctx.obj
    try:
        rt.ensure_schema()
    except KpiflowError as exc:
        fail(exc)
    out.print(f"schema up to date on {redacted(rt.settings.database_url)}")


@app.command(epilog="Example: kpiflow runs --pack network --limit 5")
def runs(
    ctx: typer.Context,
    pack: Annotated[str | None, typer.Option(help="Only this pack's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Runs to show.")] = 20,
) -> None:
    """Show the last runs of every pack with their own counts (reads only)."""
    from kpiflow.ingest import history

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


@app.command(epilog="Example: kpiflow --log-format json serve --host 0.0.0.0 --port 8000")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (KPIFLOW_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (KPIFLOW_API_PORT).")] = None,
    root_path: Annotated[str, typer.Option(help="Path prefix behind a reverse proxy.")] = "",
    schedule: Annotated[bool, typer.Option(help="Run the packs' jobs on schedule.")] = True,
) -> None:
    """Serve the API (docs at /docs), the dashboard and /metrics; run every pack's jobs."""
    import uvicorn

    from kpiflow.server import create_app

    rt: Runtime = ctx.obj
    bind = (host or rt.settings.api_host, port or rt.settings.api_port)
    try:
        rt.check_database()
    except KpiflowError as exc:
        fail(exc)
    sock = _bound_socket(*bind)  # before anything is scheduled: a busy port stops here
    config = uvicorn.Config(create_app(rt, schedule=schedule), root_path=root_path,
                            log_config=None)  # logs.setup configured logging already
    uvicorn.Server(config).run(sockets=[sock])


def _bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one red line and exit 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: uvicorn writes a response's headers and body apart, and
    # with Nagle on the body of every response after the first on a keep-alive connection
    # waited for the client's delayed ACK (~40 ms on Linux) - most of a read's latency.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
             "(another server there? pick another with --port or KPIFLOW_API_PORT)")
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@app.command(epilog="Example: kpiflow status --format json")
def status(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Is it healthy? Database, and per pack: last pass, its age, failures in a row, files.

    Exit 0 when ready, 1 when not (database down, or a pack's last KPIFLOW_READY_FAILED_PASSES
    passes failed). The server's /readyz answers the same, plus whether its scheduler runs.
    Files waiting: found in the last pass but still being written (changed within the settle
    time) or gone while read; the next pass takes them. Rejected: whole files refused (see
    the pack's `ledger --status rejected`). Unreadable: files kpiflow cannot read (permissions,
    I/O error, over KPIFLOW_READ_TIMEOUT_SECONDS), tried again every pass.
    """
    from kpiflow.health import readiness

    rt: Runtime = ctx.obj
    result = readiness(rt, "n/a")
    rows = [{"pack": p.pack, "ready": p.ready, "last_pass": p.last_status or "none yet",
             "job": p.last_job, "finished_at": p.last_finished_at, "age_seconds": p.age_seconds,
             "failed_in_a_row": p.failed_in_a_row, "files_waiting": p.files_waiting,
             **{f"files_{k}": v for k, v in sorted(p.files.items())},
             "files_unreadable": p.files_unreadable,
             "last_error": p.last_error} for p in result.packs]
    if fmt is Format.JSON:
        emit([result.as_dict()], fmt, None)
    else:
        # One column per pack, one row per fact: fits a terminal with any number of facts.
        table = Table("", *(p.pack for p in result.packs),
                      title=f"kpiflow status: {'ready' if result.ready else 'NOT READY'}, "
                      f"database {result.database}")
        facts: dict[str, Callable[[PackHealth], str]] = {
            "ready": lambda p: "yes" if p.ready else "NO",
            "last pass": lambda p: f"{p.last_job} {p.last_status}" if p.last_status else "none yet",
            "finished": lambda p: f"{_age(p.age_seconds)} ago" if p.age_seconds is not None else "",
            "failed in a row": lambda p: str(p.failed_in_a_row),
            "files waiting": lambda p: str(p.files_waiting),
            "files ingested": lambda p: f"{p.files.get('ingested', 0):,}",
            "files rejected": lambda p: f"{p.files.get('rejected', 0):,}",
            "files unreadable": lambda p: f"{p.files_unreadable:,}",
            "last error": lambda p: p.last_error or "",
        }
        for fact, show in facts.items():
            table.add_row(fact, *(show(p) for p in result.packs))
        emit(rows, fmt, table)
    if not result.ready:
        for reason in result.reasons:
            err.print(f"[red]not ready:[/] {reason}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def misplaced_global(argv: list[str]) -> str | None:
    """The remedy when a global option follows the sub-command that does not take it."""
    group = typer.main.get_command(app)
    # Typer vendors its own click: commands and options are recognised by their attributes.
    takes_value = {o: not getattr(p, "is_flag", False) for p in group.params for o in p.opts
                   if o.startswith("--")}
    command: Any = group
    path: list[str] = []
    skip = False
    for i, token in enumerate(argv):
        if skip:
            skip = False
            continue
        name = token.split("=", 1)[0]
        if not path and takes_value.get(name) and "=" not in token:
            skip = True
        if token in getattr(command, "commands", {}):
            command = command.commands[token]
            if isinstance(command, Deferred):  # its own options decide what is misplaced
                command = command.loaded()
            path.append(token)
            continue
        own = {o for p in command.params for o in getattr(p, "opts", [])}
        if path and name in takes_value and name not in own:
            moved = [token] + (argv[i + 1:i + 2] if takes_value[name] and "=" not in token else [])
            rest = [t for j, t in enumerate(argv) if not i <= j < i + len(moved)]
            before = argv[:argv.index(path[0])]
            after = rest[len(before):]
            return (f"{name} is a global option: put it before the sub-command, "
                    f"`kpiflow {' '.join(before + moved + after)}`")
    return None


def main() -> None:
    """Console-script entry point."""
    remedy = misplaced_global(sys.argv[1:])
    if remedy is not None:
        err.print(f"[red]error:[/] {remedy}", highlight=False, soft_wrap=True)
        raise SystemExit(USAGE)
    command = typer.main.get_command(app)
    _tidy_help(command)
    command(prog_name="kpiflow")


def _tidy_help(command: Any) -> None:
    """Help as people read it: a flag shows no metavar (Typer would print `<bool>` beside it),
    and a docstring's wrapped lines are joined into paragraphs (Typer's rich mode keeps every
    line break of the source and Rich wraps again at the terminal's width: ragged lines)."""
    if command.help:
        command.help = reflow(command.help)
    # --help too: Click makes it on demand, and caches it, so make it here first
    context = command.context_class(command, **(command.context_settings or {}))
    for param in [*command.params, command.get_help_option(context)]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _tidy_help(sub)


def reflow(text: str) -> str:
    """Each paragraph of `text` on one line (paragraphs split by blank lines; one marked with
    Click's `\\b` keeps its lines)."""
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split())
                       for p in inspect.cleandoc(text).split("\n\n"))
