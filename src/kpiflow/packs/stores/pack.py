"""All that core sees of the stores pack.

Light on purpose: everything heavy is a `Ref`, imported when first used (docs/architecture.md).
"""

from datetime import timedelta
from pathlib import Path

from kpiflow.registry import Hooks, Job, Pack, Page, Ref

_HERE = "kpiflow.packs.stores"

pack = Pack(
    name="stores",
    title="Stores",
    description="Store uptime and downtime within business hours.",
    settings_model=Ref(f"{_HERE}.config:StoresSettings"),
    tables=tuple(Ref(f"{_HERE}.tables:{t}") for t in ("stores", "polls", "hours", "reports")),
    migrations=Path(__file__).parent / "migrations",
    cli=Ref(f"{_HERE}.cli:app"),
    router=Ref(f"{_HERE}.api:router"),
    jobs=(
        Job(
            "report",
            Ref(f"{_HERE}.jobs:precompute"),
            every=lambda ss: timedelta(seconds=ss.stores_report_every_seconds),
            description="Re-run interrupted reports; write the combined report file.",
        ),
    ),
    pages=(Page("/stores", "Stores", Ref(f"{_HERE}.pages:overview")),),
    hooks=Hooks(startup=Ref(f"{_HERE}.jobs:start_worker"),
                shutdown=Ref(f"{_HERE}.jobs:stop_worker")),
)
