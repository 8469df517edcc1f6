from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assistant.registry.selectors import model_by_name
from training_jobs.services import training_job_create, training_job_execute, worker_label


class Command(BaseCommand):
    help = (
        "Fine-tune a base model with LoRA (the seed's command line). Without --data it trains on the "
        "approved examples. --queue hands the job to a training worker instead of running it here."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--base-model",
            default="",
            help="HF id, local HF directory, GGUF file, or a registered "
            "model version name (default: the active chat model)",
        )
        parser.add_argument("--data", default="", help="JSONL file (default: the approved examples)")
        parser.add_argument("--output-dir", default="")
        parser.add_argument("--num-epochs", type=float, default=None)
        parser.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--gradient-accumulation-steps", type=int, default=None)
        parser.add_argument("--learning-rate", type=float, default=None)
        parser.add_argument("--lora-r", type=int, default=None)
        parser.add_argument("--lora-alpha", type=int, default=None)
        parser.add_argument("--max-seq-length", type=int, default=None)
        parser.add_argument("--eval-fraction", type=float, default=None)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--chat-format", default="")
        parser.add_argument("--merge", action="store_true", help="also write a merged Q4_K_M GGUF")
        parser.add_argument("--deploy", action="store_true", help="register and activate the result")
        parser.add_argument("--queue", action="store_true", help="queue on the Celery training queue and return")

    def handle(self, *args: Any, **opts: Any) -> None:
        params = {
            key: opts[key]
            for key in (
                "num_epochs",
                "max_steps",
                "batch_size",
                "gradient_accumulation_steps",
                "learning_rate",
                "lora_r",
                "lora_alpha",
                "max_seq_length",
                "eval_fraction",
                "seed",
            )
            if opts[key] is not None
        }
        # A registered version's name, else a path or Hugging Face id; nothing: the job
        # service's default base model.
        base_version, identifier = None, opts["base_model"]
        if identifier and not Path(identifier).exists():
            base_version = model_by_name(identifier)
        if base_version is not None:
            identifier = ""
        try:
            job = training_job_create(
                base_model=base_version,
                base_identifier=identifier,
                chat_format=opts["chat_format"],
                hyperparameters=params,
                data_file=str(Path(opts["data"]).resolve()) if opts["data"] else "",
                output_dir=str(Path(opts["output_dir"]).resolve()) if opts["output_dir"] else "",
                merge_quantized=opts["merge"],
                deploy_on_success=opts["deploy"],
                name="manage.py train",
                enqueue=opts["queue"],
            )
        except ValidationError as exc:
            raise CommandError(str(exc.message_dict if hasattr(exc, "message_dict") else exc)) from exc
        if opts["queue"]:
            self.stdout.write(
                f"training job {job.pk} queued; follow it in the admin or GET /api/v1/training/jobs/{job.pk}/"
            )
            return
        self.stdout.write(f"training job {job.pk} running here; output in {job.output_dir}")
        outcome = training_job_execute(job_id=job.pk, worker=worker_label("manage.py"))
        job.refresh_from_db()
        self.stdout.write(job.log_tail[-3000:])
        evaluation = job.evaluation or {}
        self.stdout.write(
            f"status: {job.status}; eval loss {evaluation.get('base_eval_loss')} (base) -> "
            f"{evaluation.get('fine_tuned_eval_loss')} (fine-tuned)"
        )
        for name, path in (job.artifacts or {}).items():
            self.stdout.write(f"  {name}: {path}")
        if outcome != "succeeded":
            raise CommandError(f"training {outcome}: {job.error[:2000]}")
