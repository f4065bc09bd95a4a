"""What every CLI module shares: one Rich console, one-line errors, progress that fits the output."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from kpiflow.errors import KpiflowError

out = Console()
err = Console(stderr=True)


def fail(exc: KpiflowError | str) -> NoReturn:
    """Print one red line to stderr and exit 1."""
    err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def counts_table(counts: Mapping[str, int | float], title: str) -> Table:
    """A pass's own counts as a two-column table (what, count), in the pack's order."""
    table = Table("what", "count", title=title)
    for what, value in counts.items():
        table.add_row(what.replace("_", " "), format_count(value))
    return table


def format_count(value: int | float) -> str:
    """A count as people read it: thousands separated, seconds and ratios with 2 decimals."""
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


@contextmanager
def progress_reporter() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback: a bar on a terminal, a plain line per stage and decile otherwise."""
    if sys.stderr.isatty():
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def update(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            yield update
        return
    shown: dict[str, int] = {}

    def log(stage: str, done: int, total: int) -> None:
        decile = (10 * done) // total if total else 10
        if shown.get(stage) != decile:
            shown[stage] = decile
            err.print(f"{stage}: {done}/{total}", highlight=False)

    yield log
