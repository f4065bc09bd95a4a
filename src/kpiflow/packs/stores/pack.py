"""All that core sees of the stores pack."""

from datetime import timedelta
from pathlib import Path

from kpiflow.packs.stores import api, cli, jobs, pages, tables
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.registry import Job, Pack, Page

pack = Pack(
    name="stores",
    title="Stores",
    tables=(tables.stores, tables.polls, tables.hours, tables.reports),
    migrations=Path(__file__).parent / "migrations",
    settings_model=StoresSettings,
    cli=cli.app,
    router=api.router,
    jobs=(
        Job(
            "report",
            lambda settings, ss: jobs.precompute(settings, ss),
            every=lambda ss: timedelta(seconds=ss.stores_report_every_seconds),
        ),
    ),
    pages=(Page("/stores", "Stores", pages.overview),),
)
