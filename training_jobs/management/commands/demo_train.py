from __future__ import annotations

import textwrap
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from assistant.llm.default_model import DEFAULT_MODEL_NAME
from assistant.registry.selectors import model_by_name
from llm_runtime.hardware import device_name
from training_jobs.models import TrainingExample
from training_jobs.services import (
    training_examples_load_shipped,
    training_job_create,
    training_job_execute,
    worker_label,
)

# Sized for a 2-core CPU: the whole demo (load, train, export, answers) in under 15 minutes.
DEMO_HYPERPARAMETERS = {
    "num_epochs": 2,
    "batch_size": 4,
    "gradient_accumulation_steps": 1,
    "learning_rate": 3e-4,
    "lora_r": 16,
    "lora_alpha": 32,
    "max_seq_length": 384,
    "eval_fraction": 0.1,
    "checkpoint_every": 50,
}


class Command(BaseCommand):
    help = "Fine-tune the default Gemma 3 270M on the shipped examples on this CPU and show before/after."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--num-epochs", type=float, default=DEMO_HYPERPARAMETERS["num_epochs"])
        parser.add_argument("--max-steps", type=int, default=0)

    def handle(self, *args: Any, num_epochs: float, max_steps: int, **options: Any) -> None:
        started = time.monotonic()
        call_command("register_default_model")
        report = training_examples_load_shipped()
        self.stdout.write(
            f"examples: {report.created} loaded, "
            f"{TrainingExample.objects.filter(status='approved').count()} approved in all"
        )
        params = {**DEMO_HYPERPARAMETERS, "num_epochs": num_epochs, "max_steps": max_steps}
        try:
            job = training_job_create(
                base_model=model_by_name(DEFAULT_MODEL_NAME),
                hyperparameters=params,
                name="make demo-train",
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        base_name = job.base_model.name if job.base_model else job.base_identifier
        self.stdout.write(f"training job {job.pk}: {base_name} on {device_name()} (follow it in the admin too)")
        outcome = training_job_execute(job_id=job.pk, worker=worker_label("demo-train"))
        job.refresh_from_db()
        if outcome != "succeeded":
            raise CommandError(f"training {outcome}: {job.error[:3000]}")
        ev = job.evaluation
        self.stdout.write("")
        self.stdout.write(
            f"held-out eval loss: {ev['base_eval_loss']:.4f} before -> {ev['fine_tuned_eval_loss']:.4f} after "
            f"(perplexity {ev['base_perplexity']:.2f} -> {ev['fine_tuned_perplexity']:.2f})"
        )
        self.stdout.write(
            f"{job.total_steps} steps in {ev['train_seconds']:.0f} s, "
            f"{ev['tokens_seen'] / max(ev['train_seconds'], 1e-9):.0f} training tokens/s ({ev['mode']}: {ev['mode_reason']})"
        )
        for sample in ev["side_by_side"]:
            self.stdout.write("")
            self.stdout.write(f"Q: {sample['prompt']}")
            self.stdout.write(textwrap.fill(f"base:       {sample['base']}", 110, subsequent_indent=" " * 12))
            self.stdout.write(textwrap.fill(f"fine-tuned: {sample['fine_tuned']}", 110, subsequent_indent=" " * 12))
        self.stdout.write("")
        for name, path in job.artifacts.items():
            self.stdout.write(f"{name}: {path}")
        self.stdout.write(
            f"total {time.monotonic() - started:.0f} s. Deploy it from the admin, or "
            f"POST /api/v1/training/jobs/{job.pk}/deploy/"
        )
