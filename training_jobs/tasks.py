"""Celery tasks on the `training` queue (served by the GPU nodes).

`training_job_run` is delivered at least once: acks_late + reject_on_worker_lost put it back
on the queue when its worker dies, and the claim in `training_job_claim` makes a second
delivery of a healthy run a no-op while letting it take over a run whose worker is gone.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_ready

from training_jobs.models import TrainingJob
from training_jobs.services import (
    stale_after,
    training_job_claim,
    training_job_finish,
    training_jobs_fail_stale,
    worker_name,
)

logger = logging.getLogger(__name__)

TRAINING_SOFT_LIMIT_S = 12 * 3600
TRAINING_HARD_LIMIT_S = TRAINING_SOFT_LIMIT_S + 600


@shared_task(
    name="training_jobs.tasks.training_job_run",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TRAINING_SOFT_LIMIT_S,
    time_limit=TRAINING_HARD_LIMIT_S,
)
def training_job_run(job_id: int) -> str:
    from training_jobs.trainer.loading import device_name

    worker = _worker_label(training_job_run.request.hostname or "")
    job = training_job_claim(job_id=job_id, worker=worker, device=device_name())
    if job is None:
        logger.info("training job %s is not claimable (already running elsewhere or finished)", job_id)
        return "skipped"
    return training_job_execute(job=job, worker=worker)


def training_job_execute(*, job: TrainingJob, worker: str) -> str:
    """Run a claimed job to its end state (also used in-process by `manage.py train`)."""
    from training_jobs.services import training_job_deploy
    from training_jobs.trainer.pipeline import Cancelled, run_job

    try:
        result = run_job(job, worker)
    except Cancelled as exc:
        job.refresh_from_db()
        if job.worker == worker:
            training_job_finish(
                job=job,
                worker=worker,
                status=TrainingJob.Status.CANCELLED,
                error=f"cancelled: {exc}; the checkpoint at step {job.checkpoint_step} is kept",
            )
        return "cancelled"
    except SoftTimeLimitExceeded:
        training_job_finish(
            job=job,
            worker=worker,
            status=TrainingJob.Status.FAILED,
            error=f"the run exceeded the training time limit ({TRAINING_SOFT_LIMIT_S // 3600} h); "
            "lower num_epochs or max_steps, or use a GPU node",
        )
        return "failed"
    except Exception as exc:
        logger.exception("training job %s failed", job.pk)
        training_job_finish(
            job=job,
            worker=worker,
            status=TrainingJob.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()[-3000:]}",
        )
        return "failed"
    if not training_job_finish(
        job=job,
        worker=worker,
        status=TrainingJob.Status.SUCCEEDED,
        artifacts=result["artifacts"],
        evaluation=result["evaluation"],
    ):
        return "lost"
    job.refresh_from_db()
    if job.deploy_on_success:
        try:
            training_job_deploy(job=job, user=job.created_by)
        except Exception as exc:
            logger.exception("deploying training job %s failed", job.pk)
            TrainingJob.objects.filter(pk=job.pk).update(error=f"trained, but deploying failed: {exc}")
    return "succeeded"


@shared_task(name="training_jobs.tasks.training_jobs_sweep")
def training_jobs_sweep() -> int:
    """Fail (or requeue for resume) running jobs whose worker stopped sending heartbeats."""
    return training_jobs_fail_stale()


def _worker_label(nodename: str) -> str:
    return f"{worker_name()}:{nodename or 'local'}"


@worker_ready.connect
def _sweep_on_worker_start(sender: Any = None, **kwargs: object) -> None:
    """A worker start is the usual moment after a run was lost. Runs recorded under this very
    node are dead (the node has just started): resume them now. Runs of other nodes are
    judged by their heartbeat, now and once more when a fresh heartbeat would have gone stale."""
    try:
        label = _worker_label(getattr(sender, "hostname", "") or "")
        orphans = list(
            TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, worker=label).values_list("pk", flat=True)
        )
        if orphans:
            logger.warning("resuming training jobs %s left running by this node before it restarted", orphans)
            TrainingJob.objects.filter(pk__in=orphans).update(heartbeat_at=None)
            for job_id in orphans:
                training_job_run.delay(job_id)
        training_jobs_fail_stale()
        training_jobs_sweep.apply_async(countdown=stale_after().total_seconds() + 1)
    except Exception:
        logger.exception("the stale training job sweep failed")
