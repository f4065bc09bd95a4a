"""What every CLI module shares: one Rich console, one-line errors, progress that fits the output."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, NoReturn

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

# Exit codes, the same for every command of every pack (docs/cli.md).
DONE, FAILED, USAGE, PARTIAL = 0, 1, 2, 3


class Format(StrEnum):
    """How a command prints its result: a table for people, JSON or CSV for scripts."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[
    Format, typer.Option("--format", help="Output: table (for people), json or csv (for scripts).")]


def quiet() -> None:
    """`--quiet`: nothing on stdout and no progress; errors still go to stderr."""
    out.quiet = True


def emit(rows: Sequence[Mapping[str, Any]], fmt: Format, table: Any) -> None:
    """Print `rows` as JSON or CSV (every field, machine-readable), or print `table` (Rich)."""
    if out.quiet:
        return
    if fmt is Format.JSON:
        sys.stdout.write(json.dumps(list(map(dict, rows)), default=str, indent=1) + "\n")
    elif fmt is Format.CSV:
        # every field of every row, in first-seen order: rows may differ (one pack's file
        # statuses are not another's); a field a row lacks is left empty
        fields = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(sys.stdout, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        out.print(table)


def at_least(minimum: float, shown: str) -> Callable[[float], float]:
    """An option callback for a float bound that reads well (`at least 5 minutes`), where
    Typer's own `min=` would print `x>=0.08333333333333333`."""

    def check(value: float) -> float:
        if value < minimum:
            raise typer.BadParameter(f"must be at least {shown}")
        return value

    return check


def rejected_hint(pack: str, files_rejected: int, bad_rows: int, where: str = "") -> None:
    """Exit 3 with where to look when a pass or load set inputs aside; otherwise return.
    `where` defaults to the pack's `ledger` and `quarantine` commands."""
    if files_rejected or bad_rows:
        look = where or (f"`kpiflow {pack} ledger --status rejected` and "
                         f"`kpiflow {pack} quarantine`")
        partial(f"{files_rejected:,} files rejected, {bad_rows:,} rows quarantined: see {look}")


def note(message: str) -> None:
    """A hint for people on stderr (stdout stays clean for scripts); silent with --quiet."""
    if not out.quiet:
        err.print(message, highlight=False, soft_wrap=True)


def partial(message: str) -> NoReturn:
    """Some inputs were rejected: say where to look, exit 3."""
    note(f"[yellow]partly done:[/] {message}")
    raise typer.Exit(PARTIAL)


def usage(message: str) -> NoReturn:
    """A bad option or argument: one red line with the remedy, exit 2; nothing has run."""
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE)


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
    if out.quiet:
        yield lambda _stage, _done, _total: None
        return
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
