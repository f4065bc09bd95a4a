"""APScheduler running every pack's scheduled jobs through `run_job`; never two runs of one job.

A job is scheduled by interval (`Job.every`) or by a crontab expression (`Job.cron`), read from
the pack's settings. Each run is a pass like any other: locked, recorded in the run log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from kpiflow.errors import ConfigError, KpiflowError, LockBusy
from kpiflow.lifecycle import run_job
from kpiflow.registry import Job, Pack
from kpiflow.runtime import Runtime

log = logging.getLogger(__name__)


def job_id(pack: Pack[Any], job: Job[Any]) -> str:
    """The scheduler's (and the logs') name of a job: `<pack>.<job>`."""
    return f"{pack.name}.{job.name}"


def run_scheduled(runtime: Runtime, pack: Pack[Any], job: Job[Any]) -> None:
    """Run a job once; its outcome is logged (and in the run log), never raised into APScheduler."""
    name = job_id(pack, job)
    try:
        run_job(runtime, pack, job)
    except LockBusy as exc:
        log.info("%s skipped: %s", name, exc)
    except KpiflowError:
        pass  # run_job logged the failed pass (one line) and the run log has it
    except Exception:
        log.exception("%s crashed", name)


def trigger(runtime: Runtime, pack: Pack[Any], job: Job[Any]) -> BaseTrigger | None:
    """When the job runs: its interval, its cron expression, or None (on demand only)."""
    settings = runtime.settings_for(pack)
    if job.cron is not None:
        expression = job.cron(settings)
        zone = job.timezone(settings) if job.timezone is not None else "UTC"
        try:
            return CronTrigger.from_crontab(expression, timezone=zone)
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"job {job_id(pack, job)}: bad cron expression {expression!r} ({exc})") from exc
    if job.every is not None:
        return IntervalTrigger(seconds=job.every(settings).total_seconds())
    return None


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """A scheduler with every scheduled job; interval jobs run first at once, cron jobs on time."""
    scheduler = BackgroundScheduler(timezone=UTC)
    for pack in runtime.packs:
        for job in pack.jobs:
            when = trigger(runtime, pack, job)
            if when is None:
                continue
            first = {"next_run_time": datetime.now(UTC)} if isinstance(when, IntervalTrigger) else {}
            scheduler.add_job(
                run_scheduled, when, args=(runtime, pack, job), id=job_id(pack, job),
                name=job_id(pack, job), max_instances=1, coalesce=True, **first,
            )
    return scheduler
