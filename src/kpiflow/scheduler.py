"""APScheduler running every pack's scheduled jobs through `run_job`; never two runs of one job.

A job is scheduled by interval (`Job.every`) or by a crontab expression (`Job.cron`), read from
the pack's settings. Each run is a pass like any other: locked, recorded in the run log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection

from kpiflow.errors import ConfigError, KpiflowError, LockBusy
from kpiflow.ingest import history
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


def _cron(job: Job[Any], settings: Any) -> tuple[str, str] | None:
    """The job's crontab expression and its time zone (UTC unless the pack says), or None."""
    if job.cron is None:
        return None
    return job.cron(settings), job.timezone(settings) if job.timezone is not None else "UTC"


def trigger(runtime: Runtime, pack: Pack[Any], job: Job[Any]) -> BaseTrigger | None:
    """When the job runs: its interval, its cron expression, or None (on demand only)."""
    settings = runtime.settings_for(pack)
    cron = _cron(job, settings)
    if cron is not None:
        expression, zone = cron
        try:
            return CronTrigger.from_crontab(expression, timezone=zone)
        except (ValueError, KeyError) as exc:
            raise ConfigError(
                f"job {job_id(pack, job)}: bad cron expression {expression!r} ({exc})") from exc
    every = job.every(settings) if job.every is not None else None
    return IntervalTrigger(seconds=every.total_seconds()) if every is not None else None


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """A scheduler with every scheduled job; interval jobs run first at once, cron jobs on time.

    A run that starts late still runs (`misfire_grace_time=None`): APScheduler's default skips a
    run more than 1 s late, so a busy start-up (migrations, hooks) silently lost the first pass
    and a busy host a nightly one. Runs missed back to back still run once (`coalesce`).
    """
    scheduler = BackgroundScheduler(timezone=UTC)
    for pack in runtime.packs:
        for job in pack.jobs:
            when = trigger(runtime, pack, job)
            if when is None:
                continue
            first = {"next_run_time": datetime.now(UTC)} if isinstance(when, IntervalTrigger) else {}
            scheduler.add_job(
                run_scheduled, when, args=(runtime, pack, job), id=job_id(pack, job),
                name=job_id(pack, job), max_instances=1, coalesce=True, misfire_grace_time=None,
                **first,
            )
    return scheduler


@dataclass(frozen=True)
class JobStatus:
    """One job as `GET /api/v1/jobs/` and the Ingest page show it.

    `every_seconds` or `cron` (with its `timezone`) says when it runs, neither: on demand.
    `next_run_time` is set only while this process's scheduler runs the job; `last_run` is
    the newest row of the run log for the job (None if it never ran).
    """

    pack: str
    job: str
    description: str
    every_seconds: float | None
    cron: str | None
    timezone: str | None
    next_run_time: datetime | None
    last_run: dict[str, Any] | None


def job_statuses(
    runtime: Runtime, conn: Connection, running: BackgroundScheduler | None
) -> list[JobStatus]:
    """Every job of every pack, in pack then declaration order, with its next and last run."""
    last = history.last_run_per_job(conn)
    found = []
    for pack in runtime.packs:
        settings = runtime.settings_for(pack)
        for job in pack.jobs:
            cron = _cron(job, settings)
            every = job.every(settings) if job.every is not None and cron is None else None
            scheduled = running.get_job(job_id(pack, job)) if running is not None else None
            found.append(JobStatus(
                pack=pack.name, job=job.name, description=job.description,
                every_seconds=every.total_seconds() if every is not None else None,
                cron=cron[0] if cron is not None else None,
                timezone=cron[1] if cron is not None else None,
                next_run_time=scheduled.next_run_time if scheduled is not None else None,
                last_run=last.get((pack.name, job.name)),
            ))
    return found
