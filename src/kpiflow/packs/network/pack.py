"""All that core sees of the network pack."""

from datetime import timedelta
from pathlib import Path

from kpiflow.packs.network import api, cli, pages, pipeline, tables
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.registry import Job, Pack, Page

pack = Pack(
    name="network",
    title="Network",
    tables=(tables.service_traffic_volume, tables.cell_unique_users,
            tables.content_intervals, tables.dirty_intervals),
    migrations=Path(__file__).parent / "migrations",
    settings_model=NetworkSettings,
    cli=cli.app,
    router=api.router,
    jobs=(
        Job(
            "ingest",
            lambda settings, net: pipeline.run_once(settings, net),
            every=lambda net: timedelta(seconds=net.network_schedule_seconds),
        ),
    ),
    pages=(Page("/network", "Network", pages.overview),),
)
