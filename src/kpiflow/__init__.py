"""kpiflow: operational data to exact KPIs. The public names are the pack interface and settings."""

from kpiflow.config import Settings
from kpiflow.errors import KpiflowError
from kpiflow.registry import Job, Pack, Page, Runtime, discover_packs

__all__ = ["Job", "KpiflowError", "Pack", "Page", "Runtime", "Settings", "discover_packs"]
