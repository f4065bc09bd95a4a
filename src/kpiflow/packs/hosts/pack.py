"""All that core sees of the hosts pack."""

from datetime import timedelta
from pathlib import Path

from kpiflow.packs.hosts import api, cli, jobs, metrics, pages, tables
from kpiflow.packs.hosts.config import HostsSettings
from kpiflow.registry import Command, Job, Pack, Page

pack = Pack(
    name="hosts",
    title="Hosts",
    settings_model=HostsSettings,
    tables=(tables.batches, tables.hosts, tables.samples, tables.parquet_files, tables.rollups,
            tables.alarms, tables.alarm_events, tables.name_partials),
    migrations=Path(__file__).parent / "migrations",
    cli=cli.app,
    router=api.router,
    jobs=(
        Job("flush", jobs.flush,
            every=lambda ps: timedelta(seconds=ps.hosts_flush_every_seconds),
            description="Compact buffered samples into Parquet and 1-minute rollups."),
        Job("alarms", jobs.evaluate,
            every=lambda ps: timedelta(seconds=ps.hosts_alarm_every_seconds),
            description="Judge new samples against the RED/AMBER rules; notify the webhook."),
        Job("retention", jobs.retention,
            every=lambda ps: timedelta(seconds=ps.hosts_retention_every_seconds),
            description="Remove raw samples, rollups and events past their retention."),
    ),
    pages=(Page("/hosts", "Hosts", pages.overview),),
    commands=(Command("agent", cli.agent, "Sample this host's processes and push them to a "
                      "kpiflow server.\n\nExample: kpiflow agent --server http://10.0.0.5:8000"),),
    collectors=metrics.collectors,
)
