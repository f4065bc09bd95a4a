"""All that core sees of the stores pack."""

from datetime import timedelta
from pathlib import Path

from kpiflow.packs.stores import api, cli, jobs, pages, tables
from kpiflow.packs.stores.config import StoresSettings
from kpiflow.registry import Hooks, Job, Pack, Page

pack = Pack(
    name="stores",
    title="Stores",
    settings_model=StoresSettings,
    tables=(tables.stores, tables.polls, tables.hours, tables.reports),
    migrations=Path(__file__).parent / "migrations",
    cli=cli.app,
    router=api.router,
    jobs=(
        Job(
            "report",
            jobs.precompute,
            every=lambda ss: timedelta(seconds=ss.stores_report_every_seconds),
            description="Re-run interrupted reports; write the combined report file.",
        ),
    ),
    pages=(Page("/stores", "Stores", pages.overview),),
    hooks=Hooks(startup=jobs.start_worker, shutdown=jobs.stop_worker),
)
