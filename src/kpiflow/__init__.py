"""kpiflow: operational data to exact KPIs. The public names are the pack interface and settings."""

from kpiflow.config import Settings
from kpiflow.errors import KpiflowError
from kpiflow.lifecycle import run_job
from kpiflow.registry import (
    Command,
    Hooks,
    Job,
    Pack,
    Page,
    RunContext,
    ServeContext,
    Summary,
    discover_packs,
)
from kpiflow.runtime import Runtime

__all__ = ["Command", "Hooks", "Job", "KpiflowError", "Pack", "Page", "RunContext", "Runtime",
           "ServeContext", "Settings", "Summary", "discover_packs", "run_job"]
