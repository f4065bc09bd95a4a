"""Settings of the stores pack (env prefix KPIFLOW_, like the core)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from kpiflow.config import settings_config

DEFAULT_TIMEZONE = "America/Chicago"


class StoresSettings(BaseSettings):
    """Where the precomputed report goes, how often it is refreshed, the default time zone."""

    model_config = settings_config()

    stores_report_every_seconds: int = Field(
        3600, ge=5, description="Seconds between precomputed reports under `kpiflow serve`."
    )
    stores_combined_report: Path | None = Field(
        None,
        description="Where the precomputed report is written; default "
        "`<state dir>/stores/combined_report.csv`.",
    )
    stores_default_timezone: str = Field(
        DEFAULT_TIMEZONE, description="Time zone of a store missing from the timezones file."
    )
    stores_reports_kept: int = Field(
        100, ge=1, le=1_000_000,
        description="Finished on-demand reports kept (row and CSV); older ones are deleted.",
    )
    stores_report_rate_per_minute: int = Field(
        30, ge=1, le=100_000,
        description="On-demand reports accepted per minute; more answer 429.",
    )
    stores_report_workers: int = Field(
        1, ge=1, le=8, description="Reports the API computes at once (background threads)."
    )
