"""A running job's progress on its row: the heartbeat write, and the trainer's reporter that
buffers progress and writes it through that heartbeat (`trainer.reporting.Reporter`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training_jobs.models import TrainingJob

logger = logging.getLogger(__name__)
LOG_TAIL_CHARS = 8000


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
    evaluation: dict[str, Any] | None = None,
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
            ("evaluation", evaluation),
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


class JobProgressReporter:
    """The trainer's reporter for one claimed job: buffers progress and writes it to the job row
    at most every `interval` seconds (and at once on checkpoints, evaluations and `flush`).
    Cancellation, or another worker taking the run over, is checked before every step."""

    def __init__(self, *, job: TrainingJob, worker: str, interval: float | None = None) -> None:
        self.job, self.worker = job, worker
        self.interval = (
            interval if interval is not None else float(getattr(settings, "OPTIQ_TRAINING_PROGRESS_INTERVAL", 3.0))
        )
        self.last_write = 0.0
        self.pending: dict[str, Any] = {}
        self.losses: list[list[float]] = []
        self.evals: list[list[float]] = []
        self.lines: list[str] = []
        self.stop = False

    def _write(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.interval:
            return
        keep_going = training_job_heartbeat(
            job=self.job,
            worker=self.worker,
            train_loss=self.losses or None,
            eval_loss=self.evals or None,
            log_lines=self.lines or None,
            **self.pending,
        )
        self.stop = self.stop or not keep_going
        self.last_write = now
        self.pending, self.losses, self.evals, self.lines = {}, [], [], []

    def progress(
        self,
        *,
        step: int,
        total_steps: int,
        epoch: float,
        eta_seconds: float | None,
        loss: float | None,
        tokens_seen: int,
        force: bool = False,
    ) -> None:
        self.pending.update(step=step, total_steps=total_steps, epoch=epoch, tokens_seen=tokens_seen)
        if eta_seconds is not None:
            self.pending["eta_seconds"] = round(eta_seconds, 1)
        if loss is not None:
            self.losses.append([step, round(loss, 5)])
        self._write(force=force)

    def eval_loss(self, *, step: int, loss: float) -> None:
        self.evals.append([step, round(loss, 5)])
        self._write(force=True)

    def log(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")
        logger.info("job %s: %s", self.job.pk, line)

    def checkpoint(self, *, step: int) -> None:
        self.pending["checkpoint_step"] = step
        self._write(force=True)

    def evaluation(self, results: dict[str, Any]) -> None:
        # Kept on the row at once: a resumed attempt reads the base model's loss from here
        # instead of measuring it again.
        self.pending["evaluation"] = dict(results)
        self._write(force=True)

    def flush(self) -> None:
        self._write(force=True)

    def should_stop(self) -> bool:
        # One indexed read per step: a cancel lands within one step, not one flush interval.
        row = TrainingJob.objects.filter(pk=self.job.pk).values("cancel_requested", "status", "worker").first()
        if (
            row is None
            or row["cancel_requested"]
            or row["status"] != TrainingJob.Status.RUNNING
            or row["worker"] != self.worker
        ):
            self.stop = True
        return self.stop
