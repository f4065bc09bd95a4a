"""The pack interface: what a domain declares so the shared machinery can run and serve it.

Core never imports a pack by name; packs arrive through the `kpiflow.packs` entry points.
Discovery stays light: what is heavy (a pack's tables, CLI, routes, jobs, pages) may be named by
a `Ref` ("module:attribute") and is imported at first use, so `kpiflow --help` or a pass of one
pack never loads the other packs' dataframe, database or web libraries.

A pack declares its tables, migrations, settings, jobs, pages, CLI, routes, top-level commands,
`serve` hooks and Prometheus collectors. Core runs each job through `lifecycle.run_job`, which
hands the job a `RunContext` and records the `Summary` it returns (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from prometheus_client.registry import Collector
    from pydantic_settings import BaseSettings
    from sqlalchemy import Engine as Database
    from sqlalchemy import Table

    from kpiflow.config import NoSettings as NoSettings
    from kpiflow.config import Settings
    from kpiflow.engine.base import Engine as KpiEngine
    from kpiflow.ingest.checkpoints import Checkpoints
    from kpiflow.state import StateStore

ENTRY_POINT_GROUP = "kpiflow.packs"

S = TypeVar("S", bound="BaseSettings")
T = TypeVar("T")


class Ref:
    """An object named `"package.module:attribute"`, imported at first use.

    A pack gives its heavy parts as refs so that discovering it imports nothing heavy: `Pack`
    resolves `tables`, `cli` and `router` when they are first read, `Command` its callback
    when the command runs; calling a ref calls the object, so a ref also serves as a job's
    `run`, a page's `render`, a hook or the collectors function.
    """

    __slots__ = ("target",)

    def __init__(self, target: str) -> None:
        module, sep, attribute = target.partition(":")
        if not (module and sep and attribute):
            raise ValueError(f"a Ref names 'package.module:attribute', not {target!r}")
        self.target = target

    def load(self) -> Any:
        """The object itself (its module is imported once; Python caches it)."""
        module, _, attribute = self.target.partition(":")
        found: Any = import_module(module)
        for name in attribute.split("."):
            found = getattr(found, name)
        return found

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Ref({self.target!r})"


class LazyModule(ModuleType):
    """A module imported at its first attribute access: how a pack's CLI names its heavy
    modules (pipeline, queries...) so that `kpiflow <pack> --help` does not load them, and how
    the pass names polars and numpy so that a pass with nothing to parse never loads them."""

    def __getattr__(self, attribute: str) -> Any:
        # Called only for names not yet copied: after the first import the module's names
        # live here too, so hot code (polars expressions in a loop) pays a plain lookup.
        module = import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)


def lazy_modules(*names: str) -> tuple[Any, ...]:
    """A `LazyModule` for each name (use under `if not TYPE_CHECKING:`, the real imports in
    the `if TYPE_CHECKING:` branch keep the types)."""
    return tuple(LazyModule(name) for name in names)


def resolved(value: T | Ref) -> T:
    """`value`, or the object a `Ref` names."""
    return value.load() if isinstance(value, Ref) else value

Progress = Callable[[str, int, int], None]
"""`progress(stage, done, total)`: how far a stage of a pass has come (a bar in the CLI)."""


def no_progress(_stage: str, _done: int, _total: int) -> None:
    """A progress reporter that shows nothing."""


@dataclass
class Summary:
    """What one pass did. A pack subclasses it with its own numeric fields (its counts).

    Core records `counts()` in the run log and shows them as they are (CLI, API, Ingest page).
    """

    def counts(self) -> dict[str, int | float]:
        """The numeric fields, by name: what the run log keeps of this pass."""
        return {k: v for k, v in asdict(self).items()
                if isinstance(v, int | float) and not isinstance(v, bool)}

    @classmethod
    def count_names(cls) -> tuple[str, ...]:
        """The names of the counts, in declaration order."""
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class RunContext(Generic[S]):
    """What core hands a pack's pass: everything it needs, nothing it must open or lock itself.

    `safe_point(name)` marks a point where a test may crash the process (KPIFLOW_CRASH_AT) and
    where core verifies the run lock is still held: call it before each commit.
    """

    settings: Settings
    pack_settings: S
    db: Database
    state: StateStore
    checkpoints: Checkpoints
    progress: Progress
    safe_point: Callable[[str], None]
    kpi_engine_factory: Callable[[], KpiEngine]
    run_id: int | None = None
    _engines: list[KpiEngine] = field(default_factory=list, compare=False, repr=False)

    @property
    def kpi_engine(self) -> KpiEngine:
        """The KPI engine chosen by `KPIFLOW_ENGINE`, started at first use, closed by core."""
        if not self._engines:
            self._engines.append(self.kpi_engine_factory())
        return self._engines[0]

    def close(self) -> None:
        """Close the KPI engine if the pass started one (core calls this)."""
        while self._engines:
            self._engines.pop().close()


@dataclass(frozen=True)
class ServeContext(Generic[S]):
    """What a pack's `serve` hooks receive: the process-wide resources of the running server.

    `resources` is the pack's own place for long-lived objects (a worker pool): its routes
    find it as `request.app.state.pack_resources[<pack name>]`. `schedule` says whether this
    server runs the packs' jobs (`kpiflow serve`, not `--no-schedule`): a pack that runs a job
    in a worker of its own starts it only then.
    """

    settings: Settings
    pack_settings: S
    db: Database
    resources: dict[str, Any]
    schedule: bool = False


@dataclass(frozen=True)
class Job(Generic[S]):
    """A task core runs (CLI, scheduler, `POST /api/v1/runs/{pack}`) through `run_job`.

    Scheduled by `every` (an interval) or `cron` (a crontab expression, UTC unless the
    expression's pack setting says otherwise), both read from the pack's settings; neither
    (or `every` giving None for these settings) means it runs only on demand. `locked` jobs
    hold a run lock while they run: the pack's, or with `lock` set the pack's lock of that
    name, so that jobs with different locks may run at the same time (the pack then makes
    sure that what they write together is safe).
    """

    name: str
    run: Callable[[RunContext[S]], Summary]
    every: Callable[[S], timedelta | None] | None = None
    cron: Callable[[S], str] | None = None
    timezone: Callable[[S], str] | None = None
    locked: bool = True
    lock: str = ""
    description: str = ""

    def lock_name(self, pack: str) -> str:
        """The name of the run lock this job holds for `pack`."""
        return f"{pack}.{self.lock}" if self.lock else pack


@dataclass(frozen=True)
class Page:
    """A dashboard page: the dashboard lists it in the navigation and mounts `render`.

    `render(ctx: kpiflow.dashboard.page.PageContext) -> PageContent | str`; see that module
    for the contract (what a page may add to the shell: body, scripts, charts).
    """

    path: str
    title: str
    render: Callable[..., Any]


@dataclass(frozen=True)
class Command:
    """A top-level CLI command (`kpiflow agent`): a Typer-annotated function, or a Typer app
    (or a `Ref` to either, loaded when the command runs; `help` is what `kpiflow --help`
    shows). It runs on its own: the global options build no runtime for it (`ctx.obj` is None),
    so a standalone process such as the agent loads nothing it does not use."""

    name: str
    callback: Callable[..., Any] | typer.Typer | Ref
    help: str = ""

    def load(self) -> Callable[..., Any] | typer.Typer:
        """The function or Typer app (imported now when given as a `Ref`)."""
        return resolved(self.callback)


@dataclass(frozen=True)
class Hooks(Generic[S]):
    """What a pack does when `serve` starts and stops (start a worker pool, then shut it down)."""

    startup: Callable[[ServeContext[S]], None] | None = None
    shutdown: Callable[[ServeContext[S]], None] | None = None


def __getattr__(name: str) -> Any:
    # `NoSettings` lives with the settings: pydantic-settings loads only when a pack uses it.
    if name == "NoSettings":
        from kpiflow.config import NoSettings

        return NoSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Pack(Generic[S]):
    """Everything core sees of a domain: tables, migrations, CLI, routes, jobs and pages.

    `settings_model`, `tables` (or each table), `cli` and `router` may be given as a `Ref`:
    they are imported when first read.
    `description` is the pack's line in `kpiflow --help` (default: its CLI's help), shown
    without importing its CLI.
    """

    def __init__(
        self, name: str, title: str, settings_model: type[S] | Ref, *,
        description: str = "",
        tables: tuple[Table | Ref, ...] | Ref = (),
        migrations: Path | None = None,
        cli: typer.Typer | Ref | None = None,
        router: APIRouter | Ref | None = None,
        jobs: tuple[Job[S], ...] = (),
        pages: tuple[Page, ...] = (),
        commands: tuple[Command, ...] = (),
        hooks: Hooks[S] | None = None,
        collectors: Callable[[ServeContext[S]], Iterable[Collector]] | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self._settings_model = settings_model
        self.migrations = migrations
        self.jobs = jobs
        self.pages = pages
        self.commands = commands
        self.hooks: Hooks[S] = hooks if hooks is not None else Hooks()
        self.collectors = collectors
        self._description = description
        self._tables = tables
        self._cli = cli
        self._router = router

    def __repr__(self) -> str:
        return f"Pack({self.name!r})"

    @property
    def settings_model(self) -> type[S]:
        """The pack's pydantic-settings class (`registry.NoSettings` when it has none)."""
        return resolved(self._settings_model)

    @property
    def tables(self) -> tuple[Table, ...]:
        """The pack's SQLAlchemy tables."""
        return tuple(resolved(t) for t in resolved(self._tables))

    @property
    def cli(self) -> typer.Typer | None:
        """The Typer app mounted as `kpiflow <name>`, if any."""
        return resolved(self._cli)

    @property
    def has_cli(self) -> bool:
        """Whether the pack has a CLI (known without importing it)."""
        return self._cli is not None

    @property
    def router(self) -> APIRouter | None:
        """The pack's FastAPI router, if any."""
        return resolved(self._router)

    @property
    def description(self) -> str:
        """One line on what the pack does: given, else its CLI's help, else its title."""
        if self._description or isinstance(self._cli, Ref):
            return self._description or self.title
        help_text = self._cli.info.help if self._cli is not None else None
        return help_text if isinstance(help_text, str) else self.title

    def job(self, name: str | None = None) -> Job[S]:
        """The job called `name` (default: the first); KeyError names the jobs there are."""
        for job in self.jobs:
            if name is None or job.name == name:
                return job
        raise KeyError(f"pack {self.name!r} has no job {name!r}; jobs: "
                       f"{', '.join(j.name for j in self.jobs) or 'none'}")


def discover_packs() -> tuple[Pack[Any], ...]:
    """Load every installed pack, sorted by name so that order is stable."""
    packs = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        pack = ep.load()
        if not isinstance(pack, Pack):
            raise TypeError(f"entry point {ep.name!r} is not a kpiflow Pack")
        packs.append(pack)
    return tuple(sorted(packs, key=lambda p: p.name))
