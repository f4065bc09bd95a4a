"""The pack interface: what a domain declares so the shared machinery can run and serve it.

Core never imports a pack by name; packs arrive through the `kpiflow.packs` entry points.
A pack declares its tables, migrations, settings, jobs, pages, CLI, routes, top-level commands,
`serve` hooks and Prometheus collectors. Core runs each job through `lifecycle.run_job`, which
hands the job a `RunContext` and records the `Summary` it returns (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic_settings import BaseSettings
from sqlalchemy import Engine as Database
from sqlalchemy import Table

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from prometheus_client.registry import Collector

    from kpiflow.config import Settings
    from kpiflow.engine.base import Engine as KpiEngine
    from kpiflow.ingest.checkpoints import Checkpoints
    from kpiflow.state import StateStore

ENTRY_POINT_GROUP = "kpiflow.packs"

S = TypeVar("S", bound=BaseSettings)

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
    find it as `request.app.state.pack_resources[<pack name>]`.
    """

    settings: Settings
    pack_settings: S
    db: Database
    resources: dict[str, Any]


@dataclass(frozen=True)
class Job(Generic[S]):
    """A task core runs (CLI, scheduler, `POST /api/v1/runs/{pack}`) through `run_job`.

    Scheduled by `every` (an interval) or `cron` (a crontab expression, UTC unless the
    expression's pack setting says otherwise), both read from the pack's settings; neither
    means it runs only on demand. `locked` jobs hold the pack's run lock while they run.
    """

    name: str
    run: Callable[[RunContext[S]], Summary]
    every: Callable[[S], timedelta] | None = None
    cron: Callable[[S], str] | None = None
    timezone: Callable[[S], str] | None = None
    locked: bool = True
    description: str = ""


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
    """A top-level CLI command (`kpiflow agent`): a Typer-annotated function, or a Typer app."""

    name: str
    callback: Callable[..., Any] | typer.Typer
    help: str = ""


@dataclass(frozen=True)
class Hooks(Generic[S]):
    """What a pack does when `serve` starts and stops (start a worker pool, then shut it down)."""

    startup: Callable[[ServeContext[S]], None] | None = None
    shutdown: Callable[[ServeContext[S]], None] | None = None


class NoSettings(BaseSettings):
    """Settings model for a pack that has none of its own."""


@dataclass(frozen=True)
class Pack(Generic[S]):
    """Everything core sees of a domain: tables, migrations, CLI, routes, jobs and pages."""

    name: str
    title: str
    settings_model: type[S]
    tables: tuple[Table, ...] = ()
    migrations: Path | None = None
    cli: typer.Typer | None = None
    router: APIRouter | None = None
    jobs: tuple[Job[S], ...] = ()
    pages: tuple[Page, ...] = ()
    commands: tuple[Command, ...] = ()
    hooks: Hooks[S] = field(default_factory=Hooks)
    collectors: Callable[[ServeContext[S]], Iterable[Collector]] | None = None

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
