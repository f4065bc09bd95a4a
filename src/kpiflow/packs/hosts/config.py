"""Settings of the hosts pack (env prefix KPIFLOW_, like the core)."""

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from kpiflow.config import settings_config


class HostsSettings(BaseSettings):
    """Alarm thresholds, windows, retention, job intervals and the optional webhook."""

    model_config = settings_config()

    hosts_red_threshold: float = Field(80.0, gt=0, le=100, description="RED above this %.")
    hosts_red_clear: float = Field(75.0, gt=0, le=100, description="RED clears below this %.")
    hosts_hold_seconds: float = Field(
        30.0, ge=0, description="How long (sample time) a condition must hold before an alarm.")
    hosts_trend_window_seconds: float = Field(
        300.0, gt=0, description="Samples the AMBER least-squares line is fitted on.")
    hosts_trend_horizon_seconds: float = Field(
        900.0, gt=0, description="AMBER when the fitted line crosses the RED threshold this soon.")
    hosts_trend_min_samples: int = Field(3, ge=2, description="Fewest samples for a trend line.")
    hosts_mean_window_seconds: float = Field(
        300.0, gt=0, description="Default window of the seed's `get-all` means (server time).")
    hosts_hot_seconds: int = Field(
        900, ge=60, description="Raw samples kept in the SQL buffer after they are compacted.")
    hosts_raw_retention_hours: float = Field(
        48.0, gt=0, description="Raw samples (Parquet) older than this are removed.")
    hosts_rollup_retention_days: float = Field(
        90.0, gt=0, description="1-minute rollups older than this are removed.")
    hosts_flush_every_seconds: int = Field(
        60, ge=1, description="Seconds between compactions of buffered samples into Parquet.")
    hosts_alarm_every_seconds: int = Field(
        10, ge=1, description="Seconds between alarm evaluations under `kpiflow serve`.")
    hosts_job_runner: Literal["process", "scheduler", "external"] = Field(
        "process", description="Where `kpiflow serve` runs the alarm and flush jobs: `process`, "
        "a child process per job (`kpiflow hosts run alarms|flush --every`; their own "
        "interpreters, so requests never wait for them); `scheduler`, its in-process scheduler "
        "(shares the server's GIL); `external`, not at all (run them yourself).")
    hosts_job_nice: int = Field(
        5, ge=0, le=19, description="Niceness added to the alarm and flush children of `kpiflow "
        "serve` (`process` runner): under a full CPU the server's requests go first and the jobs "
        "take what is left; 0 runs them at the server's priority.")
    hosts_retention_every_seconds: int = Field(
        3600, ge=10, description="Seconds between retention passes under `kpiflow serve`.")
    hosts_max_batch: int = Field(
        20000, ge=1, description="Most values one pushed batch may carry (a process's cpu and mem are two; "
        "413 above).")
    hosts_metrics_top: int = Field(
        20, ge=1, le=1000, description="Processes per host and resource exported to Prometheus "
        "(the busiest; processes in alarm always).")
    hosts_webhook_url: str | None = Field(
        None, description="POST every alarm state change here as JSON (unset: no webhook).")
    hosts_webhook_token: SecretStr | None = Field(
        None, description="Bearer token sent to the webhook.")
    hosts_webhook_attempts: int = Field(
        5, ge=1, description="Deliveries tried per state change before it is given up.")
