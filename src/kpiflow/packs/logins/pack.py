"""All that core sees of the logins pack."""

from pathlib import Path

from kpiflow.packs.logins import api, cli, pages, pipeline, tables
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.registry import Job, Pack, Page

pack = Pack(
    name="logins",
    title="Logins",
    settings_model=LoginsSettings,
    tables=(tables.users, tables.days, tables.files),
    migrations=Path(__file__).parent / "migrations",
    cli=cli.app,
    router=api.router,
    jobs=(
        Job(
            "extract",
            pipeline.extract,
            cron=lambda s: s.logins_cron,
            timezone=lambda s: s.logins_timezone,
            description="Extract logins day by day from the checkpoint (less the look-back).",
        ),
    ),
    pages=(Page("/usage/login", "Logins", pages.overview),),
)
