"""`kpiflow network state check|repair`: verify the state files, rebuild the damaged ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from kpiflow.console import fail, out
from kpiflow.errors import KpiflowError
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.packs.network.pack import PACK
from kpiflow.registry import Ref, lazy_modules
from kpiflow.runtime import Runtime
from kpiflow.store.lock import run_lock

# Loaded when a command runs, not for `kpiflow network state --help`.
if TYPE_CHECKING:
    from kpiflow.packs.network import statecheck
    from kpiflow.state import StateStore
else:
    (statecheck,) = lazy_modules("kpiflow.packs.network.statecheck")
    StateStore = Ref("kpiflow.state:StateStore")

app = typer.Typer(help="Verify the network state files and rebuild damaged ones.",
                  no_args_is_help=True)


@app.command(epilog="Example: kpiflow network state check")
def check(ctx: typer.Context) -> None:
    """Verify every state file that counts; exit 1 and list the damage if any."""
    rt: Runtime = ctx.obj
    try:
        rt.ensure_schema()
        report = statecheck.check(rt.db, StateStore(rt.settings.resolved_state_dir, PACK))
    except KpiflowError as exc:
        fail(exc)
    _show(report, repaired=False)


@app.command(epilog="Example: kpiflow --data-dir /srv/network network state repair")
def repair(ctx: typer.Context) -> None:
    """Rebuild damaged state from source files still present; list hours that cannot be."""
    rt: Runtime = ctx.obj
    settings = rt.settings
    try:
        rt.ensure_schema()
        with run_lock(rt.db, PACK, settings.resolved_state_dir, settings.lock_timeout_seconds):
            report = statecheck.repair(
                rt.db, StateStore(settings.resolved_state_dir, PACK), settings.data_dir,
                rt.settings_of(PACK, NetworkSettings).msisdn_secret, settings.read_timeout_seconds)
    except KpiflowError as exc:
        fail(exc)
    _show(report, repaired=True)


def _hour(start: int) -> str:
    return datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%dT%H:00Z")


def _show(report: statecheck.StateReport, *, repaired: bool) -> None:
    """A table of the damage; exit 1 while any hour cannot be recomputed."""
    out.print(f"checked the state of {report.checked:,} contents: {len(report.damaged):,} damaged")
    if report.damaged:
        table = Table("content", "files", "problem", "hours", "rebuilt from" if repaired else "")
        for d in report.damaged:
            table.add_row(d.sha256[:16], "\n".join(d.paths), "\n".join(d.problems),
                          ", ".join(_hour(h) for h in d.hours), d.rebuilt_from or "")
        out.print(table)
    if not repaired and report.damaged:
        hours = sorted({h for d in report.damaged for h in d.hours})
        fail(f"{len(report.damaged)} content(s) with damaged, missing or unverifiable state, "
             f"feeding {len(hours)} hour(s): run `kpiflow network state repair`")
    lost = report.lost_hours
    kept = [d for d in report.damaged if d.unverifiable and d.rebuilt_from is None]
    if repaired and kept:
        out.print(f"{len(kept)} unverifiable content(s) have no source left: kept as they are "
                  "and still used")
    if repaired and report.damaged and not lost and not kept:
        out.print("every damaged content was rebuilt; the next pass recomputes its intervals")
    if lost:
        fail(f"{len(lost)} hour(s) cannot be recomputed (no source file left): "
             + ", ".join(_hour(h) for h in lost))
