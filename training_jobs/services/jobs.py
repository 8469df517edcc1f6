"""Writes to the training jobs: create (the data set frozen, the base model decided), enqueue,
claim, progress, cancel, run to an end state (and deploy on success), and the sweep of runs
whose worker is gone.

A job is delivered to the `training` queue at least once: the claim (a conditional update)
makes a second delivery of a healthy run a no-op while letting it take over a run whose worker
stopped writing heartbeats, which then resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import socket
import traceback
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from assistant.router import ROUTER_CATEGORY
from llm_runtime.chat_formats import FORMATS
from training_jobs.dataset_files import parse_jsonl
from training_jobs.hyperparameters import Hyperparameters
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.privacy_scan import findings_message, privacy_scan
from training_jobs.selectors import default_base_model
from training_jobs.services.deploy import require_activation_permission, training_job_deploy
from training_jobs.services.progress import JobProgressReporter

if TYPE_CHECKING:
    from training_jobs.trainer.pipeline import TrainingRun

logger = logging.getLogger(__name__)

# The task is sent by name: the task module calls these services, so importing it here would
# make the two modules import each other.
TRAINING_JOB_RUN_TASK = "training_jobs.tasks.training_job_run"
TRAINING_SOFT_LIMIT_S = 12 * 3600
TRAINING_HARD_LIMIT_S = TRAINING_SOFT_LIMIT_S + 600
MAX_ATTEMPTS = 3


def stale_after() -> timedelta:
    """A running job whose worker has not written a heartbeat for this long is taken over (or
    failed by the sweep): its worker is gone."""
    return timedelta(seconds=getattr(settings, "OPTIQ_TRAINING_STALE_AFTER_S", 300))


def worker_name() -> str:
    return socket.gethostname()


def worker_label(nodename: str) -> str:
    """How a run records its worker: the host and the Celery node (or the command) running it."""
    return f"{worker_name()}:{nodename or 'local'}"


def dataset_hash(examples: Iterable[TrainingExample]) -> str:
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: e.pk):
        digest.update(f"{example.pk}:{example.content_hash}\n".encode())
    return digest.hexdigest()


def _job_output_dir(job: TrainingJob) -> str:
    # The random part keeps two databases sharing one artifacts volume (a test run and the
    # practice's, say) from resuming each other's checkpoints.
    return str(Path(settings.ARTIFACTS_DIR) / "training" / f"job-{job.pk}-{secrets.token_hex(4)}")


def training_job_create(
    *,
    base_model: Any = None,
    base_identifier: str = "",
    chat_format: str = "",
    hyperparameters: dict[str, Any] | None = None,
    examples: Iterable[TrainingExample] | None = None,
    data_file: str = "",
    name: str = "",
    output_dir: str = "",
    merge_quantized: bool = False,
    deploy_on_success: bool = False,
    created_by: Any = None,
    enqueue: bool = True,
    skip_privacy_scan: bool = False,
) -> TrainingJob:
    """Freeze the data set (approved examples, or the given ones, or a JSONL file), validate the
    hyperparameters, and queue the job on the `training` queue once the transaction commits.

    Given neither a registered base model nor a base identifier, the job fine-tunes the active
    chat model."""
    if base_model is None and not base_identifier:
        base_model = default_base_model()
        if base_model is None:
            raise ValidationError(
                {"base_model": "no active chat model; give a registered model version or a base identifier"}
            )
    if chat_format and chat_format not in FORMATS:
        raise ValidationError({"chat_format": f"unknown format {chat_format!r}; known: {', '.join(sorted(FORMATS))}"})
    if deploy_on_success:
        require_activation_permission(created_by)
    params = Hyperparameters.from_dict(hyperparameters or {})
    if not chat_format and base_model is not None:
        chat_format = base_model.chat_format
    example_list: list[TrainingExample] = []
    if data_file:
        path = Path(data_file)
        if not path.is_file():
            raise ValidationError({"data_file": f"no file at {path}"})
        with path.open(encoding="utf-8") as handle:
            parsed = parse_jsonl(handle)
        if parsed.errors:
            raise ValidationError({"data_file": [str(e) for e in parsed.errors[:20]]})
        if not skip_privacy_scan:
            findings = privacy_scan(parsed.records)
            if findings:
                raise ValidationError({"data_file": findings_message(findings, user=created_by)})
        count = len(parsed.records)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        if examples is None:
            # The router's examples train a router (``router_examples``), never the chat model.
            examples = TrainingExample.objects.filter(status=TrainingExample.Status.APPROVED).exclude(
                category=ROUTER_CATEGORY
            )
        example_list = list(examples)
        not_approved = [e.pk for e in example_list if e.status != TrainingExample.Status.APPROVED]
        if not_approved:
            raise ValidationError(
                {"examples": f"only approved examples can be trained on; not approved: {not_approved[:20]}"}
            )
        count = len(example_list)
        digest = dataset_hash(example_list)
        if not skip_privacy_scan:
            findings = privacy_scan(example_list)
            if findings:
                raise ValidationError({"examples": findings_message(findings, user=created_by)})
    if count < 2:
        raise ValidationError({"examples": "at least 2 examples are needed (one to train on, one to evaluate)"})
    with transaction.atomic():
        job = TrainingJob.objects.create(
            name=name[:120],
            base_model=base_model,
            base_identifier=base_identifier,
            chat_format=chat_format,
            example_ids=sorted(e.pk for e in example_list),
            dataset_hash=digest,
            data_file=data_file,
            hyperparameters=params.as_dict(),
            merge_quantized=merge_quantized,
            deploy_on_success=deploy_on_success,
            created_by=created_by,
        )
        job.output_dir = output_dir or _job_output_dir(job)
        job.save(update_fields=["output_dir"])
        if enqueue:
            transaction.on_commit(partial(training_job_enqueue, job_id=job.pk))
    return job


def training_job_enqueue(*, job_id: int) -> None:
    """Hand the job to a training worker (CELERY_TASK_ROUTES sends it to the `training` queue)."""
    current_app.send_task(TRAINING_JOB_RUN_TASK, args=[job_id])


def training_job_claim(*, job_id: int, worker: str, device: str = "") -> TrainingJob | None:
    """Claim a job for this worker, or return None when another run owns it.

    A queued job is claimed by a conditional update, so a duplicated delivery finds nothing to
    claim. A job left running by a worker that stopped writing heartbeats (killed, lost) is
    taken over the same way, compared on its stale heartbeat; it then resumes from its last
    checkpoint."""
    now = timezone.now()
    common = dict(
        status=TrainingJob.Status.RUNNING, worker=worker, device=device, heartbeat_at=now, attempts=F("attempts") + 1
    )
    claimed = TrainingJob.objects.filter(id=job_id, status=TrainingJob.Status.QUEUED, cancel_requested=False).update(
        started_at=now, **common
    )
    if not claimed:
        claimed = TrainingJob.objects.filter(
            Q(heartbeat_at__lt=now - stale_after()) | Q(heartbeat_at__isnull=True),
            id=job_id,
            status=TrainingJob.Status.RUNNING,
            attempts__lt=MAX_ATTEMPTS,
        ).update(**common)
    if not claimed:
        return None
    return TrainingJob.objects.get(pk=job_id)


def training_job_finish(
    *,
    job: TrainingJob,
    worker: str,
    status: str,
    error: str = "",
    artifacts: dict[str, Any] | None = None,
    evaluation: dict[str, Any] | None = None,
) -> bool:
    """Record the outcome, but only for the worker that owns the run."""
    updates: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "eta_seconds": 0, "error": error[:5000]}
    if artifacts is not None:
        updates["artifacts"] = artifacts
    if evaluation is not None:
        updates["evaluation"] = evaluation
    return bool(
        TrainingJob.objects.filter(pk=job.pk, worker=worker, status=TrainingJob.Status.RUNNING).update(**updates)
    )


@transaction.atomic
def training_job_cancel(*, job: TrainingJob, user: Any = None) -> TrainingJob:
    """A queued job is cancelled at once; a running one stops within one step and keeps its
    last checkpoint."""
    current = TrainingJob.objects.select_for_update().get(pk=job.pk)
    if current.is_finished:
        raise ValidationError({"status": f"the job has already {current.status}"})
    if current.status == TrainingJob.Status.QUEUED:
        current.status = TrainingJob.Status.CANCELLED
        current.finished_at = timezone.now()
    current.cancel_requested = True
    current.save(update_fields=["status", "finished_at", "cancel_requested"])
    return current


def training_data_changes(job: TrainingJob) -> list[str]:
    """How the job's training data differs from the snapshot frozen when it was created: the
    examples' ids and content hashes (or the data file's SHA-256). Empty when it is the same."""
    if job.data_file:
        path = Path(job.data_file)
        if not path.is_file():
            return [f"the data file {path} is gone"]
        if hashlib.sha256(path.read_bytes()).hexdigest() != job.dataset_hash:
            return [f"the data file {path} was changed"]
        return []
    examples = {e.pk: e for e in TrainingExample.objects.filter(pk__in=job.example_ids)}
    changes = [f"example {pk} was deleted" for pk in job.example_ids if pk not in examples]
    for example in sorted(examples.values(), key=lambda e: e.pk):
        if example.status == TrainingExample.Status.REJECTED:
            changes.append(f"example {example.pk} was rejected")
        elif example.status != TrainingExample.Status.APPROVED:
            changes.append(f"example {example.pk} went back to review ({example.status})")
    if not changes and dataset_hash(examples.values()) != job.dataset_hash:
        # The hash covers every example's content; those saved after the job was created are the edited ones.
        edited = [pk for pk, e in sorted(examples.items()) if e.updated_at and e.updated_at > job.created_at]
        changes.append(
            f"example{'s' if len(edited) > 1 else ''} {', '.join(map(str, edited))} {'were' if len(edited) > 1 else 'was'} edited"
            if edited
            else "the examples' content changed"
        )
    return changes


def training_run_for(job: TrainingJob) -> TrainingRun:
    """What the trainer needs from a job: the base, the frozen records, the settings, and what
    an earlier attempt already measured."""
    from training_jobs.trainer.data import Record
    from training_jobs.trainer.pipeline import TrainingRun

    if job.base_model is not None:
        if not job.base_model.path:
            raise ValueError(f"base_model: model version {job.base_model.name} has no local GGUF to train from")
        base = job.base_model.path
    else:
        base = job.base_identifier
    if job.data_file:
        with open(job.data_file, encoding="utf-8") as handle:
            parsed = parse_jsonl(handle)
        records = [Record(r.prompt, r.completion, r.system_prompt, r.category) for r in parsed.records]
    else:
        examples = TrainingExample.objects.filter(pk__in=job.example_ids).order_by("pk")
        records = [Record(e.prompt, e.completion, e.system_prompt, e.category, e.pk) for e in examples]
    return TrainingRun(
        base=base,
        chat_format=job.chat_format,
        params=Hyperparameters.from_dict(job.hyperparameters),
        records=records,
        output_dir=Path(job.output_dir),
        merge_quantized=job.merge_quantized,
        adapter_name=f"OptiQ job {job.pk}",
        evaluation=dict(job.evaluation or {}),
    )


def training_job_execute(*, job_id: int, worker: str) -> str:
    """Claim the job for `worker` and run it to its end state: "succeeded" (and deployed when
    the job asks for it), "cancelled" (the checkpoint is kept), "failed" (with the reason),
    "lost" (another worker took the run over), or "skipped" when there was nothing to claim.

    The Celery task calls this on a training worker; `manage.py train` and `demo_train` call it
    in their own process."""
    from llm_runtime.hardware import device_name
    from training_jobs.trainer.pipeline import Cancelled, run_training

    job = training_job_claim(job_id=job_id, worker=worker, device=device_name())
    if job is None:
        logger.info("training job %s is not claimable (already running elsewhere or finished)", job_id)
        return "skipped"
    changes = training_data_changes(job)
    if changes:
        # Train on exactly what was reviewed and queued, or not at all.
        training_job_finish(
            job=job,
            worker=worker,
            status=TrainingJob.Status.FAILED,
            error=f"The training data changed since this job was queued: {'; '.join(changes[:20])}. "
            "Nothing was trained; start a new job to train on the examples as they are now.",
        )
        return "failed"
    reporter = JobProgressReporter(job=job, worker=worker)
    try:
        result = run_training(training_run_for(job), reporter)
    except Cancelled as exc:
        reporter.flush()
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
        reporter.flush()
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
        reporter.flush()
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
        artifacts=result.artifacts,
        evaluation=result.evaluation,
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


def training_jobs_fail_stale(*, now: Any = None) -> int:
    """Fail running jobs whose worker stopped writing heartbeats and that have used up their
    attempts, and requeue the others so a worker resumes them from their checkpoint."""
    now = now or timezone.now()
    stale = TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, heartbeat_at__lt=now - stale_after())
    # Cancelled while its worker was gone: nothing to resume.
    stale.filter(cancel_requested=True).update(
        status=TrainingJob.Status.CANCELLED,
        finished_at=now,
        error="cancelled while its worker was not reporting; the last checkpoint is kept in the output directory",
    )
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=TrainingJob.Status.FAILED,
        finished_at=now,
        error=f"the worker stopped reporting (no heartbeat for {int(stale_after().total_seconds())} s) "
        f"and the job has no attempts left; start a new job (its last checkpoint is kept in the output directory)",
    )
    requeued = list(stale.values_list("pk", flat=True))
    for job_id in requeued:
        transaction.on_commit(partial(training_job_enqueue, job_id=job_id))
    if failed or requeued:
        logger.warning("stale training jobs: %d failed, %s requeued to resume", failed, requeued)
    return failed


def training_jobs_recover(*, worker: str) -> list[int]:
    """After a training worker starts: runs recorded under this very node are dead (the node has
    just started), so they are requeued to resume now; runs of other nodes are judged by their
    heartbeat (`training_jobs_fail_stale`). Returns the requeued orphans."""
    orphans = list(
        TrainingJob.objects.filter(status=TrainingJob.Status.RUNNING, worker=worker).values_list("pk", flat=True)
    )
    if orphans:
        logger.warning("resuming training jobs %s left running by this node before it restarted", orphans)
        TrainingJob.objects.filter(pk__in=orphans).update(heartbeat_at=None)
        for job_id in orphans:
            training_job_enqueue(job_id=job_id)
    training_jobs_fail_stale()
    return orphans
