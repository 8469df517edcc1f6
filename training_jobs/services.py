"""Writes for fine-tuning: training examples (create, import, review) and training jobs
(create, claim, progress, cancel, finish, deploy)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from training_jobs.dataset_files import LineError, ParsedRecord, parse_jsonl
from training_jobs.hyperparameters import Hyperparameters
from training_jobs.models import TrainingExample, TrainingJob


def stale_after() -> timedelta:
    """A running job whose worker has not written a heartbeat for this long is taken over (or
    failed by the sweep): its worker is gone."""
    return timedelta(seconds=getattr(settings, "OPTIQ_TRAINING_STALE_AFTER_S", 300))


logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
LOG_TAIL_CHARS = 8000


# --- examples ------------------------------------------------------------------------------


def content_hash(*, prompt: str, completion: str, system_prompt: str = "") -> str:
    normalised = "\x1f".join(" ".join(part.casefold().split()) for part in (system_prompt, prompt, completion))
    return hashlib.sha256(normalised.encode()).hexdigest()


def _validate_example(prompt: str, completion: str, source: str, status: str) -> None:
    errors: dict[str, str] = {}
    if not prompt or not prompt.strip():
        errors["prompt"] = "must not be empty"
    if not completion or not completion.strip():
        errors["completion"] = "must not be empty"
    if source not in TrainingExample.Source.values:
        errors["source"] = f"must be one of {', '.join(TrainingExample.Source.values)}"
    if status not in TrainingExample.Status.values:
        errors["status"] = f"must be one of {', '.join(TrainingExample.Status.values)}"
    if errors:
        raise ValidationError(errors)


def training_example_create(
    *,
    prompt: str,
    completion: str,
    category: str = "",
    system_prompt: str = "",
    source: str = "assistant_feedback",
    status: str = "draft",
    created_by: Any = None,
) -> TrainingExample:
    """Create one example; the same content (case and spacing aside) twice is refused."""
    _validate_example(prompt, completion, source, status)
    digest = content_hash(prompt=prompt, completion=completion, system_prompt=system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
    approved = status == TrainingExample.Status.APPROVED
    try:
        with transaction.atomic():
            return TrainingExample.objects.create(
                prompt=prompt.strip(),
                completion=completion.strip(),
                system_prompt=system_prompt.strip(),
                category=category[:64],
                source=source,
                status=status,
                content_hash=digest,
                created_by=created_by,
                reviewer=created_by if approved else None,
                reviewed_at=timezone.now() if approved else None,
            )
    except IntegrityError:
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"}) from None


@transaction.atomic
def training_example_update(*, example: TrainingExample, **changes: Any) -> TrainingExample:
    for name in ("prompt", "completion", "system_prompt", "category"):
        if name in changes:
            setattr(example, name, changes[name])
    _validate_example(example.prompt, example.completion, example.source, example.status)
    digest = content_hash(prompt=example.prompt, completion=example.completion, system_prompt=example.system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exclude(pk=example.pk).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
    example.content_hash = digest
    example.save()
    return example


@transaction.atomic
def training_examples_review(*, examples: Iterable[TrainingExample] | Any, status: str, reviewer: Any) -> int:
    """Bulk approve or reject; returns how many changed."""
    if status not in (TrainingExample.Status.APPROVED, TrainingExample.Status.REJECTED, TrainingExample.Status.DRAFT):
        raise ValidationError({"status": "must be approved, rejected or draft"})
    ids = [e.pk for e in examples]
    return (
        TrainingExample.objects.filter(pk__in=ids)
        .exclude(status=status)
        .update(status=status, reviewer=reviewer, reviewed_at=timezone.now(), updated_at=timezone.now())
    )


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[LineError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
        }


def training_examples_import(
    *,
    lines: Iterable[str | bytes],
    status: str = "draft",
    source: str = "import",
    created_by: Any = None,
    default_category: str = "",
) -> ImportReport:
    """Import JSONL (either format): valid lines are created, duplicates (in the database or
    earlier in the file) skipped and counted, bad lines reported with their number and reason."""
    _validate_example("x", "x", source, status)
    parsed = parse_jsonl(lines)
    report = ImportReport(errors=list(parsed.errors))
    seen: set[str] = set()
    fresh: list[tuple[str, ParsedRecord]] = []
    for record in parsed.records:
        digest = content_hash(prompt=record.prompt, completion=record.completion, system_prompt=record.system_prompt)
        if digest in seen:
            report.duplicates += 1
            continue
        seen.add(digest)
        fresh.append((digest, record))
    existing = set(TrainingExample.objects.filter(content_hash__in=seen).values_list("content_hash", flat=True))
    now = timezone.now()
    approved = status == TrainingExample.Status.APPROVED
    to_create = []
    for digest, record in fresh:
        if digest in existing:
            report.duplicates += 1
            continue
        to_create.append(
            TrainingExample(
                prompt=record.prompt,
                completion=record.completion,
                system_prompt=record.system_prompt,
                category=record.category or default_category,
                source=source,
                status=status,
                content_hash=digest,
                created_by=created_by,
                reviewer=created_by if approved else None,
                reviewed_at=now if approved else None,
            )
        )
    with transaction.atomic():
        # ignore_conflicts: an example created concurrently between the check and the insert
        # is a duplicate, not an error.
        created = TrainingExample.objects.bulk_create(to_create, ignore_conflicts=True, batch_size=500)
    report.created = TrainingExample.objects.filter(
        content_hash__in=[e.content_hash for e in created], created_at__gte=now
    ).count()
    report.duplicates += len(to_create) - report.created
    return report


SHIPPED_EXAMPLES = Path(__file__).resolve().parent / "data" / "examples.jsonl"


def training_examples_load_shipped() -> ImportReport:
    """Load the examples shipped with OptiQ as approved (idempotent: reruns find duplicates)."""
    with SHIPPED_EXAMPLES.open(encoding="utf-8") as handle:
        return training_examples_import(lines=handle, status="approved", source="import")


# --- jobs ----------------------------------------------------------------------------------


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
    hyperparameters, and queue the job on the `training` queue once the transaction commits."""
    from assistant.llm.chat_formats import FORMATS
    from training_jobs.privacy_scan import privacy_scan

    if base_model is None and not base_identifier:
        raise ValidationError({"base_model": "give a registered model version or a base identifier"})
    if chat_format and chat_format not in FORMATS:
        raise ValidationError({"chat_format": f"unknown format {chat_format!r}; known: {', '.join(sorted(FORMATS))}"})
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
        count = len(parsed.records)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        if examples is None:
            examples = TrainingExample.objects.filter(status=TrainingExample.Status.APPROVED)
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
                raise ValidationError(
                    {
                        "examples": ["patient data found; edit or reject these examples first"]
                        + [str(f) for f in findings[:20]]
                    }
                )
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
            transaction.on_commit(lambda: training_job_enqueue(job=job))
    return job


def training_job_enqueue(*, job: TrainingJob) -> None:
    from training_jobs.tasks import training_job_run

    training_job_run.delay(job.pk)


def worker_name() -> str:
    return socket.gethostname()


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


def training_job_heartbeat(
    *,
    job: TrainingJob,
    worker: str,
    step: int | None = None,
    total_steps: int | None = None,
    epoch: float | None = None,
    eta_seconds: float | None = None,
    train_loss: list[list[float]] | None = None,
    eval_loss: list[list[float]] | None = None,
    log_lines: list[str] | None = None,
    tokens_seen: int | None = None,
    checkpoint_step: int | None = None,
) -> bool:
    """Write progress; returns False when the run must stop (cancel requested, or the job was
    taken over or finished elsewhere). Losses are appended, the log tail is kept short."""
    now = timezone.now()
    with transaction.atomic():
        current = TrainingJob.objects.select_for_update().filter(pk=job.pk).first()
        if current is None or current.status != TrainingJob.Status.RUNNING or current.worker != worker:
            return False
        updates: dict[str, Any] = {"heartbeat_at": now}
        for name, value in (
            ("step", step),
            ("total_steps", total_steps),
            ("epoch", epoch),
            ("eta_seconds", eta_seconds),
            ("tokens_seen", tokens_seen),
            ("checkpoint_step", checkpoint_step),
        ):
            if value is not None:
                updates[name] = value
        if train_loss:
            updates["train_loss"] = [p for p in current.train_loss if p[0] < train_loss[0][0]] + train_loss
        if eval_loss:
            updates["eval_loss"] = [p for p in current.eval_loss if p[0] < eval_loss[0][0]] + eval_loss
        if log_lines:
            updates["log_tail"] = (current.log_tail + "".join(f"{line}\n" for line in log_lines))[-LOG_TAIL_CHARS:]
        TrainingJob.objects.filter(pk=job.pk).update(**updates)
        return not current.cancel_requested


def training_job_log(*, job: TrainingJob, line: str) -> None:
    with transaction.atomic():
        current = TrainingJob.objects.select_for_update().get(pk=job.pk)
        stamp = timezone.localtime().strftime("%H:%M:%S")
        current.log_tail = (current.log_tail + f"{stamp} {line}\n")[-LOG_TAIL_CHARS:]
        current.save(update_fields=["log_tail"])


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
        transaction.on_commit(partial(_requeue, job_id))
    if failed or requeued:
        logger.warning("stale training jobs: %d failed, %s requeued to resume", failed, requeued)
    return failed


def _requeue(job_id: int) -> None:
    from training_jobs.tasks import training_job_run

    training_job_run.delay(job_id)


# --- deploy --------------------------------------------------------------------------------


def training_job_deploy(
    *, job: TrainingJob, user: Any = None, name: str = "", activate: bool = True, use_merged: bool = False
) -> Any:
    """Register the job's GGUF result as a model version and (by default) activate it; the
    inference workers swap to it before their next request."""
    from assistant.registry.services import model_version_activate, model_version_register

    job.refresh_from_db()
    if job.status != TrainingJob.Status.SUCCEEDED:
        raise ValidationError({"status": "only a succeeded job can be deployed"})
    if job.model_version is not None:
        if activate:
            return model_version_activate(model_version=job.model_version, user=user)
        return job.model_version
    artifacts = job.artifacts or {}
    base_gguf = artifacts.get("base_gguf")
    name = name or f"{(job.base_model.name if job.base_model else 'custom')[:80]}-ft-job{job.pk}"
    if use_merged or not base_gguf:
        merged = artifacts.get("merged_gguf")
        if not merged:
            raise ValidationError(
                {
                    "artifacts": "this job has no GGUF to deploy (no base GGUF with a LoRA adapter, "
                    "and no merged GGUF); rerun it with merge_quantized"
                }
            )
        version = model_version_register(
            name=name,
            path=merged,
            chat_format=job.chat_format or None,
            base=job.base_model,
            created_by=user,
            activate=activate,
        )
    else:
        version = model_version_register(
            name=name,
            path=base_gguf,
            lora_path=artifacts["gguf_lora"],
            chat_format=job.chat_format or None,
            base=job.base_model,
            created_by=user,
            activate=activate,
            n_ctx=job.base_model.n_ctx if job.base_model else 2048,
        )
    TrainingJob.objects.filter(pk=job.pk).update(model_version=version)
    return version


def training_job_rollback(*, user: Any = None) -> Any:
    from assistant.registry.services import model_version_rollback

    return model_version_rollback(role="chat", user=user)
