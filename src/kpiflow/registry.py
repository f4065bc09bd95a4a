"""The pack interface: what a domain declares so the shared machinery can run and serve it.

Core never imports a pack by name; packs arrive through the `kpiflow.packs` entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import BaseSettings
from sqlalchemy import Table

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from kpiflow.config import Settings

ENTRY_POINT_GROUP = "kpiflow.packs"


@dataclass(frozen=True)
class Job:
    """A recurring task the scheduler runs with the core and the pack settings."""

    name: str
    run: Callable[[Settings, Any], object]
    every: Callable[[Any], timedelta]


@dataclass(frozen=True)
class Page:
    """A dashboard page: the dashboard lists it in the navigation and mounts `render`.

    `render(ctx: kpiflow.dashboard.page.PageContext) -> PageContent | str`; see that module
    for the contract (what a page may add to the shell: body, scripts, charts).
    """

    path: str
    title: str
    render: Callable[..., Any]


class NoSettings(BaseSettings):
    """Settings model for a pack that has none of its own."""


@dataclass(frozen=True)
class Pack:
    """Everything core sees of a domain: tables, migrations, CLI, routes, jobs and pages."""

    name: str
    title: str
    tables: tuple[Table, ...] = ()
    migrations: Path | None = None
    settings_model: type[BaseSettings] = NoSettings
    cli: typer.Typer | None = None
    router: APIRouter | None = None
    jobs: tuple[Job, ...] = ()
    pages: tuple[Page, ...] = field(default_factory=tuple)


def discover_packs() -> tuple[Pack, ...]:
    """Load every installed pack, sorted by name so that order is stable."""
    packs = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        pack = ep.load()
        if not isinstance(pack, Pack):
            raise TypeError(f"entry point {ep.name!r} is not a kpiflow Pack")
        packs.append(pack)
    return tuple(sorted(packs, key=lambda p: p.name))


@dataclass(frozen=True)
class Runtime:
    """Settings built once at the edge: the core settings plus each pack's own."""

    settings: Settings
    packs: tuple[Pack, ...]
    pack_settings: dict[str, Any]

    @classmethod
    def build(
        cls, settings: Settings, packs: tuple[Pack, ...], **overrides: Any
    ) -> Runtime:
        """Read each pack's settings (env, `.env`); `overrides` maps pack name to a model."""
        resolved = {p.name: overrides.get(p.name) or p.settings_model() for p in packs}
        return cls(settings=settings, packs=packs, pack_settings=resolved)

    def pack(self, name: str) -> Pack:
        """The pack called `name`."""
        for p in self.packs:
            if p.name == name:
                return p
        raise KeyError(name)
