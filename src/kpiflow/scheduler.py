"""APScheduler running every pack's jobs; never two runs of one job at once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from kpiflow.config import Settings
from kpiflow.errors import KpiflowError, LockBusy
from kpiflow.registry import Job, Runtime

log = logging.getLogger(__name__)


def run_job(job: Job, settings: Settings, pack_settings: Any) -> None:
    """Run a job once and log its outcome; errors are logged, never raised into the scheduler."""
    try:
        result = job.run(settings, pack_settings)
    except LockBusy as exc:
        log.info("%s skipped: %s", job.name, exc)
    except KpiflowError as exc:
        log.error("%s failed: %s", job.name, exc)
    except Exception:
        log.exception("%s crashed", job.name)
    else:
        log.info("%s done: %s", job.name, result)


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """A scheduler with every pack's jobs, each first run at once, then every `job.every`."""
    scheduler = BackgroundScheduler(timezone=UTC)
    for pack in runtime.packs:
        ps = runtime.pack_settings[pack.name]
        for job in pack.jobs:
            scheduler.add_job(
                run_job,
                IntervalTrigger(seconds=job.every(ps).total_seconds()),
                args=(job, runtime.settings, ps),
                id=f"{pack.name}.{job.name}",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
    return scheduler
