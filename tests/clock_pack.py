"""A pack built in the tests (never installed): one interval job, one cron job that fails, one
on-demand job. It shows how the run log and the scheduler see jobs, whatever the real packs do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from pydantic_settings import BaseSettings

from kpiflow.config import settings_config
from kpiflow.registry import Job, Pack, RunContext, Summary


class ClockSettings(BaseSettings):
    """When the clock pack's jobs run."""

    model_config = settings_config()

    clock_every_seconds: int = 3600
    clock_cron: str = "30 1 * * *"
    clock_timezone: str = "Europe/Athens"


@dataclass
class Ticked(Summary):
    """A tick's counts: which tick this was, and a float to show floats are kept."""

    items: int = 0
    seconds: float = 0.0


_ticks = itertools.count(1)


def tick(_ctx: RunContext[ClockSettings]) -> Ticked:
    """Count the ticks of this process: each run's count differs from the one before."""
    return Ticked(items=next(_ticks), seconds=0.25)


def nightly(_ctx: RunContext[ClockSettings]) -> Ticked:
    """Fail, as a job whose source is down does."""
    raise RuntimeError("nightly source unreachable")


def manual(_ctx: RunContext[ClockSettings]) -> Ticked:
    """Run only on demand."""
    return Ticked(items=1)


pack = Pack(
    name="clock",
    title="Clock",
    settings_model=ClockSettings,
    jobs=(
        Job("tick", tick, every=lambda s: timedelta(seconds=s.clock_every_seconds),
            description="Tick once an interval."),
        Job("nightly", nightly, cron=lambda s: s.clock_cron, timezone=lambda s: s.clock_timezone,
            description="Fail every night."),
        Job("manual", manual, description="Run when asked."),
    ),
)
