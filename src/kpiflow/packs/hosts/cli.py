"""`kpiflow agent` (a top-level command) and `kpiflow hosts ...` (the pack's jobs by hand)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from kpiflow.console import Format, FormatOption, counts_table, emit, fail, out, usage
from kpiflow.errors import KpiflowError
from kpiflow.registry import Ref

# `kpiflow agent` needs psutil and httpx, `kpiflow hosts run` the whole pass: each loads what
# it uses when it runs (the agent's RSS stays small: docs/benchmarks.md).
if TYPE_CHECKING:
    from kpiflow.lifecycle import run_job
    from kpiflow.packs.hosts.agent import Agent, AgentConfig
    from kpiflow.packs.hosts.workers import run_every
    from kpiflow.runtime import Runtime
else:
    run_job = Ref("kpiflow.lifecycle:run_job")
    run_every = Ref("kpiflow.packs.hosts.workers:run_every")
    Agent = Ref("kpiflow.packs.hosts.agent:Agent")
    AgentConfig = Ref("kpiflow.packs.hosts.agent:AgentConfig")

app = typer.Typer(help="Host resource samples: compaction, alarms, retention.",
                  no_args_is_help=True)
JOBS = ("flush", "alarms", "retention")


@app.command("run", epilog="Example: kpiflow hosts run alarms --format json\n\n"
             "Example (a worker of its own, e.g. under systemd): kpiflow hosts run alarms --every 10")
def run_cmd(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="flush, alarms or retention.")] = "flush",
    fmt: FormatOption = Format.TABLE,
    every: Annotated[float | None, typer.Option(
        min=0.1, help="Run again every this many seconds until SIGTERM (the alarm job keeps its "
        "window in memory between passes; a busy pack lock is retried after 1 s).")] = None,
    parent_pid: Annotated[int | None, typer.Option(
        min=1, help="With --every: stop once the process with this id is no longer the parent "
        "(how `kpiflow serve`'s workers end when the server is killed).")] = None,
) -> None:
    """Run one of the pack's jobs now (`kpiflow serve` runs them on schedule)."""
    rt: Runtime = ctx.obj
    if job not in JOBS:
        usage(f"unknown job {job!r}: choose one of {', '.join(JOBS)}")
    pack = next(p for p in rt.packs if p.name == "hosts")
    if every is not None:
        stopping = threading.Event()

        def stop(_signum: int, _frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        passes = run_every(rt, pack, job, every, stopping, parent_pid)
        out.print(f"hosts {job}: {passes} pass(es), stopped")
        return
    try:
        summary = run_job(rt, pack, job)
    except KpiflowError as exc:
        fail(exc)
    counts = summary.counts()
    emit([counts], fmt, counts_table(counts, f"hosts {job}"))


def agent(
    server: Annotated[str, typer.Option(help="kpiflow server URL, e.g. http://10.0.0.5:8000.",
                                        envvar="KPIFLOW_AGENT_SERVER")],
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between samples.",
                                            envvar="KPIFLOW_AGENT_INTERVAL")] = 10.0,
    token: Annotated[str | None, typer.Option(help="Bearer token (the server's "
                                              "KPIFLOW_API_TOKEN).", envvar="KPIFLOW_AGENT_TOKEN")]
    = None,
    floor: Annotated[float | None, typer.Option(
        min=0, max=100, help="Send only processes above this cpu or mem %, plus one `other` row.",
        envvar="KPIFLOW_AGENT_FLOOR")] = None,
    state_dir: Annotated[Path, typer.Option(help="Queue and host id live here.",
                                            envvar="KPIFLOW_AGENT_STATE_DIR")]
    = Path(".kpiflow-agent"),
    queue_mb: Annotated[float, typer.Option(min=1, help="Bound of the on-disk queue (MB); the "
                                            "oldest batches go first.",
                                            envvar="KPIFLOW_AGENT_QUEUE_MB")] = 100.0,
) -> None:
    """Sample every process's cpu and mem and push them to a kpiflow server (SIGTERM to stop)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s agent: %(message)s")
    cfg = AgentConfig(server=server, interval=interval, token=token, floor=floor,
                      state_dir=state_dir, queue_bytes=int(queue_mb * 1024 * 1024))
    runner = Agent(cfg)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runner.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    out.print(f"agent {runner.host['hostname']} ({runner.host['ip']}) -> {server}, "
              f"every {interval:g} s")
    runner.run()
    out.print(f"agent stopped: {runner.sent} batch(es) sent, {len(runner.queue)} queued, "
              f"{runner.rejected} refused, {runner.queue.dropped} dropped")
