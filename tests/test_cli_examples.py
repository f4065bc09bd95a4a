"""Every command's --help ends with an example, and the example names real options."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kpiflow.cli import Deferred, app
from tests.helpers import KPIFLOW


def _commands() -> list[tuple[list[str], Any]]:
    """Every leaf command of `kpiflow` (packs and top-level commands included, each loaded
    the way running it would), by path."""
    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if isinstance(command, Deferred):
            command = command.loaded()
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*path, name])
        else:
            found.append((path, command))

    walk(root, [])
    return found


ROOT_OPTIONS = {o for p in typer.main.get_command(app).params for o in getattr(p, "opts", [])}
COMMANDS = _commands()


def test_every_command_is_found() -> None:
    paths = {" ".join(p) for p, _ in COMMANDS}
    assert {"serve", "status", "network run", "network state check", "stores load",
            "logins uniques", "hosts run"} <= paths


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_help_ends_with_a_working_example(path: list[str]) -> None:
    command = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    found = re.search(r"Example: (kpiflow [^\n│]*)", shown.output)
    assert found is not None, f"kpiflow {' '.join(path)} --help has no example"
    example = shlex.split(found.group(1).strip())[1:]
    # the command itself, after any global options
    words = [w for w in example if not w.startswith("-")]
    assert all(p in words for p in path), example
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    for word in example:
        if word.startswith("--"):
            assert word.split("=")[0] in options | ROOT_OPTIONS, (word, example)


def test_no_flag_shows_a_value_placeholder() -> None:
    """Flags (`--quiet`, `--reset`, `--help` itself) take no value: the script's help shows
    none beside them (Typer prints `<bool>`)."""
    for path in ([], ["logins", "run"]):
        shown = subprocess.run([str(KPIFLOW), *path, "--help"], capture_output=True, text=True,
                               env={**os.environ, "COLUMNS": "200"}, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert "--help" in shown.stdout and "<bool>" not in shown.stdout, path


@pytest.mark.parametrize("path", [[], ["status"], ["network", "run"], ["logins", "run"]],
                         ids=lambda p: " ".join(p) or "kpiflow")
def test_help_paragraphs_are_not_broken_where_the_source_wrapped(path: list[str]) -> None:
    """A docstring wrapped at 100 columns shows as whole paragraphs (Typer's rich mode kept
    each source line break, and Rich wrapped again: ragged text)."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)
        if isinstance(command, Deferred):
            command = command.loaded()
    source = (command.callback.__doc__ if path else app.info.help) or ""
    paragraphs = [" ".join(p.split()) for p in source.split("\n\n") if p.strip()]
    shown = subprocess.run([str(KPIFLOW), *path, "--help"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "1000"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    lines = {line.strip() for line in shown.stdout.splitlines()}
    assert len(paragraphs) > 1 and all(p in lines for p in paragraphs), (paragraphs, lines)
