"""Train a router on this machine: the router data set (built when missing), a LoRA job on the
default Gemma 3 270M, its GGUF adapter registered with the router role, and (with --evaluate)
the three-column evaluation."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.llm.default_model import DEFAULT_MODEL_NAME
from assistant.registry.selectors import model_by_name
from llm_runtime.hardware import device_name
from training_jobs.services import training_job_create, training_job_deploy, training_job_execute, worker_label
from training_jobs.services.router_examples import (
    DEFAULT_COUNT,
    ROUTER_HYPERPARAMETERS,
    ROUTER_TRAINING_COUNT,
    router_dataset_build,
    router_examples,
)


class Command(BaseCommand):
    help = (
        "Fine-tune a router (question -> structured query) on the default model with the router examples, "
        "register it with the router role, and optionally activate and evaluate it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--examples", type=int, default=ROUTER_TRAINING_COUNT, help="how many to train on")
        parser.add_argument("--num-epochs", type=float, default=ROUTER_HYPERPARAMETERS["num_epochs"])
        parser.add_argument("--max-steps", type=int, default=0)
        parser.add_argument("--activate", action="store_true", help="make it the active router")
        parser.add_argument("--evaluate", action="store_true", help="run evaluate_router on it and save the figures")
        parser.add_argument("--results", default="", help="with --evaluate: the RESULTS.md to write the table into")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        call_command("register_default_model")
        if len(router_examples()) < options["examples"]:
            built = router_dataset_build(count=max(DEFAULT_COUNT, options["examples"]))
            self.stdout.write(f"router data set: {built.created} examples written")
        examples = router_examples(count=options["examples"])
        params = {**ROUTER_HYPERPARAMETERS, "num_epochs": options["num_epochs"], "max_steps": options["max_steps"]}
        try:
            job = training_job_create(
                base_model=model_by_name(DEFAULT_MODEL_NAME),
                examples=examples,
                hyperparameters=params,
                name="make train-router",
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"training job {job.pk}: {len(examples)} router examples on {device_name()}")
        outcome = training_job_execute(job_id=job.pk, worker=worker_label("train-router"))
        job.refresh_from_db()
        if outcome != "succeeded":
            raise CommandError(f"training {outcome}: {job.error[:3000]}")
        evaluation = job.evaluation
        self.stdout.write(
            f"{job.total_steps} steps in {evaluation['train_seconds']:.0f} s "
            f"({evaluation['tokens_seen'] / max(evaluation['train_seconds'], 1e-9):.0f} tokens/s); held-out eval loss "
            f"{evaluation['base_eval_loss']:.4f} -> {evaluation['fine_tuned_eval_loss']:.4f}"
        )
        version = training_job_deploy(job=job, activate=options["activate"])
        self.stdout.write(
            f"registered {version.name} (role {version.role}, {version.status}); "
            f"job start to registered: {time.monotonic() - started:.0f} s"
        )
        if options["evaluate"]:
            call_command("evaluate_router", router=version.name, save=True, results=options["results"])
