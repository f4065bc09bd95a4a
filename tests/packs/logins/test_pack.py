"""The pack plugs into core: its job is scheduled daily by cron in the configured zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from apscheduler.triggers.cron import CronTrigger
from pydantic import ValidationError

from kpiflow.config import Settings
from kpiflow.packs.logins.config import LoginsSettings
from kpiflow.registry import discover_packs
from kpiflow.runtime import Runtime
from kpiflow.scheduler import trigger


def test_extract_runs_daily_at_01_30_in_the_configured_zone() -> None:
    rt = Runtime.build(Settings(database_url="sqlite://"), discover_packs(),
                       logins=LoginsSettings(logins_timezone="Europe/Berlin"))
    pack = rt.pack("logins")
    when = trigger(rt, pack, pack.job("extract"))
    assert isinstance(when, CronTrigger)
    fire = when.get_next_fire_time(None, datetime(2024, 7, 1, tzinfo=UTC))
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2024, 7, 1, 23, 30, tzinfo=UTC)  # 01:30 CEST


def test_settings_reject_an_unknown_zone() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        LoginsSettings(logins_timezone="Mars/Olympus")
