"""All that core sees of the network pack.

Light on purpose: everything heavy is a `Ref`, imported when first used (docs/architecture.md).
"""

from datetime import timedelta
from pathlib import Path

from kpiflow.registry import Job, Pack, Page, Ref

_HERE = "kpiflow.packs.network"
PACK = "network"

pack = Pack(
    name=PACK,
    title="Network",
    description="Network KPIs: top services by traffic, top cells by unique users.",
    settings_model=Ref(f"{_HERE}.config:NetworkSettings"),
    tables=tuple(Ref(f"{_HERE}.tables:{t}") for t in (
        "service_traffic_volume", "cell_unique_users", "content_intervals", "dirty_intervals")),
    migrations=Path(__file__).parent / "migrations",
    cli=Ref(f"{_HERE}.cli:app"),
    router=Ref(f"{_HERE}.api:router"),
    jobs=(
        Job(
            "ingest",
            Ref(f"{_HERE}.pipeline:run"),
            every=lambda net: timedelta(seconds=net.network_schedule_seconds),
            description="Ingest new or changed files in DATA_DIR; update the affected KPIs.",
        ),
    ),
    pages=(Page("/network", "Network", Ref(f"{_HERE}.pages:overview")),
           Page("/network/coverage", "Coverage", Ref(f"{_HERE}.coverage_page:render"))),
)
