"""Docs are tested: a setting, command or route without docs fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command

from kpiflow.cli import app as cli_app
from kpiflow.config import Settings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.server import create_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def _env_names() -> list[str]:
    models = [Settings, *(p.settings_model for p in discover_packs())]
    names = []
    for model in models:
        prefix = model.model_config.get("env_prefix", "")
        for name, field in model.model_fields.items():
            alias = field.validation_alias
            names.append(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


@pytest.mark.parametrize("env_name", _env_names())
def test_every_setting_is_documented(env_name: str) -> None:
    if f"`{env_name}`" not in DOCS:
        pytest.fail(f"setting {env_name} is not documented in README.md or docs/")


def _commands(group, prefix: str = "kpiflow"):
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        if getattr(command, "commands", None):
            yield from _commands(command, path)
        else:
            yield path


@pytest.mark.parametrize("command", sorted(_commands(get_command(cli_app))))
def test_every_command_is_documented(command: str) -> None:
    if command not in DOCS:
        pytest.fail(f"command `{command}` is not documented in README.md or docs/")


def _routes() -> list[str]:
    # From the OpenAPI schema: FastAPI keeps included routers as entries of their own in
    # app.routes, so walking that list would miss every pack's routes.
    app = create_app(Runtime.build(Settings(database_url="sqlite://"), discover_packs()))
    return sorted(app.openapi()["paths"])


@pytest.mark.parametrize("route", _routes())
def test_every_route_is_documented(route: str) -> None:
    if route not in DOCS:
        pytest.fail(f"route {route} is not documented in README.md or docs/")
