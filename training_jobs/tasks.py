"""Celery tasks on the `training` queue (served by the GPU nodes): load by id, call the service.

`training_job_run` is delivered at least once: acks_late + reject_on_worker_lost put it back
on the queue when its worker dies, and the claim in `training_job_execute` makes a second
delivery of a healthy run a no-op while letting it take over a run whose worker is gone.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from training_jobs.services.jobs import (
    TRAINING_HARD_LIMIT_S,
    TRAINING_JOB_RUN_TASK,
    TRAINING_SOFT_LIMIT_S,
    stale_after,
    training_job_execute,
    training_jobs_fail_stale,
    training_jobs_recover,
    worker_label,
)

logger = logging.getLogger(__name__)


@shared_task(
    name=TRAINING_JOB_RUN_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TRAINING_SOFT_LIMIT_S,
    time_limit=TRAINING_HARD_LIMIT_S,
)
def training_job_run(job_id: int) -> str:
    return training_job_execute(job_id=job_id, worker=worker_label(training_job_run.request.hostname or ""))


@shared_task(name="training_jobs.tasks.training_jobs_sweep")
def training_jobs_sweep() -> int:
    """Fail (or requeue for resume) running jobs whose worker stopped sending heartbeats."""
    return training_jobs_fail_stale()


@worker_ready.connect
def _recover_on_worker_start(sender: Any = None, **kwargs: object) -> None:
    """A worker start is the usual moment after a run was lost: recover now, and sweep once more
    when a fresh heartbeat of another node would have gone stale."""
    try:
        training_jobs_recover(worker=worker_label(getattr(sender, "hostname", "") or ""))
        training_jobs_sweep.apply_async(countdown=stale_after().total_seconds() + 1)
    except Exception:
        logger.exception("the stale training job sweep failed")
