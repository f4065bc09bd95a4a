"""All that core sees of the network pack."""

from datetime import timedelta
from pathlib import Path

from kpiflow.packs.network import api, cli, coverage_page, pages, pipeline, tables
from kpiflow.packs.network.config import NetworkSettings
from kpiflow.registry import Job, Pack, Page

pack = Pack(
    name="network",
    title="Network",
    settings_model=NetworkSettings,
    tables=(tables.service_traffic_volume, tables.cell_unique_users,
            tables.content_intervals, tables.dirty_intervals),
    migrations=Path(__file__).parent / "migrations",
    cli=cli.app,
    router=api.router,
    jobs=(
        Job(
            "ingest",
            pipeline.run,
            every=lambda net: timedelta(seconds=net.network_schedule_seconds),
            description="Ingest new or changed files in DATA_DIR; update the affected KPIs.",
        ),
    ),
    pages=(Page("/network", "Network", pages.overview),
           Page("/network/coverage", "Coverage", coverage_page.render)),
)
