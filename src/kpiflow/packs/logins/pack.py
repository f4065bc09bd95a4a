"""All that core sees of the logins pack.

Light on purpose: everything heavy is a `Ref`, imported when first used (docs/architecture.md).
"""

from pathlib import Path

from kpiflow.registry import Job, Pack, Page, Ref

_HERE = "kpiflow.packs.logins"

pack = Pack(
    name="logins",
    title="Logins",
    description="Unique users per day, week, month, quarter and year from login logs.",
    settings_model=Ref(f"{_HERE}.config:LoginsSettings"),
    tables=(Ref(f"{_HERE}.tables:users"), Ref(f"{_HERE}.tables:days"),
            Ref(f"{_HERE}.tables:files")),
    migrations=Path(__file__).parent / "migrations",
    cli=Ref(f"{_HERE}.cli:app"),
    router=Ref(f"{_HERE}.api:router"),
    jobs=(
        Job(
            "extract",
            Ref(f"{_HERE}.pipeline:extract"),
            cron=lambda s: s.logins_cron,
            timezone=lambda s: s.logins_timezone,
            description="Extract logins day by day from the checkpoint (less the look-back).",
        ),
    ),
    pages=(Page("/usage/login", "Logins", Ref(f"{_HERE}.pages:overview")),),
)
