"""Settings of the logins pack (env prefix KPIFLOW_, like the core)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from kpiflow.config import settings_config

WeekEnd = Literal["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


class LoginsSettings(BaseSettings):
    """Where the logs are, what a login is, the day boundaries and the daily schedule."""

    model_config = settings_config()

    logins_source: str | None = Field(
        None, description="JSON-lines file or folder (searched recursively, `.gz` accepted), or "
        "a database URL whose table `KPIFLOW_LOGINS_TABLE` holds the log.")
    logins_table: str = Field("log", description="Table read when the source is a database URL.")
    logins_created_field: str = Field("created", description="Field (or column) of the time.")
    logins_user_field: str = Field("user", description="Field (or column) of the user name.")
    logins_message_field: str = Field("message", description="Field (or column) of the message.")
    logins_message_regex: str = Field(
        "successful login", description="A line is a login when its message matches (search).")
    logins_exclude_users: list[str] = Field(
        default_factory=lambda: ["admin"], description="Users never counted (JSON list).")
    logins_timezone: str = Field("UTC", description="IANA zone of the day boundaries.")
    logins_week_end: WeekEnd = Field("SUN", description="Last day of a `W` week (pandas W-SUN).")
    logins_start: date | None = Field(
        None, description="First day of a first (or --reset) run; default the first log day.")
    logins_lookback_days: int = Field(
        2, ge=0, le=366, description="Days before the checkpoint each run extracts again.")
    logins_cron: str = Field("30 1 * * *", description="When `serve` runs the extraction.")

    @field_validator("logins_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value
