"""All that core sees of the hosts pack.

Light on purpose: everything heavy is a `Ref`, imported when first used (docs/architecture.md).
"""

from datetime import timedelta
from pathlib import Path

from kpiflow.registry import Command, Hooks, Job, Pack, Page, Ref

_HERE = "kpiflow.packs.hosts"

pack = Pack(
    name="hosts",
    title="Hosts",
    description="Host resource samples: compaction, alarms, retention.",
    settings_model=Ref(f"{_HERE}.config:HostsSettings"),
    tables=tuple(Ref(f"{_HERE}.tables:{t}") for t in (
        "batches", "hosts", "samples", "parquet_files", "rollups", "alarms", "alarm_events",
        "name_partials", "progress")),
    migrations=Path(__file__).parent / "migrations",
    cli=Ref(f"{_HERE}.cli:app"),
    router=Ref(f"{_HERE}.api:router"),
    jobs=(
        Job("flush", Ref(f"{_HERE}.jobs:flush"),
            every=lambda ps: timedelta(seconds=ps.hosts_flush_every_seconds)
            if ps.hosts_job_runner == "scheduler" else None,
            description="Compact buffered samples into Parquet and 1-minute rollups "
                        "(under serve: in a child process, KPIFLOW_HOSTS_JOB_RUNNER)."),
        Job("alarms", Ref(f"{_HERE}.jobs:evaluate"),
            every=lambda ps: timedelta(seconds=ps.hosts_alarm_every_seconds)
            if ps.hosts_job_runner == "scheduler" else None,
            lock="alarms",  # not behind a flush: each keeps its own watermark
            description="Judge new samples against the RED/AMBER rules; notify the webhook "
                        "(under serve: in a child process, KPIFLOW_HOSTS_JOB_RUNNER)."),
        Job("retention", Ref(f"{_HERE}.jobs:retention"),
            every=lambda ps: timedelta(seconds=ps.hosts_retention_every_seconds),
            description="Remove raw samples, rollups and events past their retention."),
    ),
    pages=(Page("/hosts", "Hosts", Ref(f"{_HERE}.pages:overview")),),
    commands=(Command("agent", Ref(f"{_HERE}.cli:agent"),
                      "Sample this host's processes and push them to a "
                      "kpiflow server.\n\nExample: kpiflow agent --server http://10.0.0.5:8000"),),
    collectors=Ref(f"{_HERE}.metrics:collectors"),
    hooks=Hooks(startup=Ref(f"{_HERE}.workers:start"),
                shutdown=Ref(f"{_HERE}.workers:stop")),
)
