from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from training_jobs.hyperparameters import Hyperparameters
from training_jobs.readiness import readiness_report
from training_jobs.selectors import base_tokenizer_for_readiness


class Command(BaseCommand):
    help = "Check whether the approved training examples are ready to fine-tune on (exit 1 when not)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the full report as JSON")
        parser.add_argument("--max-seq-length", type=int, default=Hyperparameters.max_seq_length)
        parser.add_argument(
            "--estimate-tokens",
            action="store_true",
            help="estimate token counts instead of loading the base model's tokenizer",
        )

    def handle(
        self, *args: Any, as_json: bool = False, max_seq_length: int, estimate_tokens: bool, **options: Any
    ) -> None:
        tokenizer, chat_format = (None, "gemma") if estimate_tokens else base_tokenizer_for_readiness()
        report = readiness_report(
            tokenizer=tokenizer, chat_format=chat_format, params=Hyperparameters(max_seq_length=max_seq_length)
        )
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            w = self.stdout.write
            w(
                f"approved examples: {report.approved} (minimum {report.minimum}, recommended {report.recommended}+); "
                f"drafts waiting for review: {report.drafts}"
            )
            w(
                f"duplicates: {len(report.duplicates)} groups; empty: {len(report.empty)}; "
                f"longer than {max_seq_length} tokens: {len(report.too_long)}"
            )
            if report.token_counts:
                t = report.token_counts
                w(f"tokens per example ({t['counted_with']}): min {t['min']}, median {t['median']}, max {t['max']}")
            w("categories: " + ", ".join(f"{k} {v}" for k, v in report.categories.items()))
            w(f"split: {report.split['train']} train / {report.split['eval']} held out")
            e = report.estimate
            w(
                f"estimate: {e['steps']} steps ({e['epochs']} epochs), about {e['cpu_minutes']} min on this CPU, "
                f"{e['gpu_minutes']} min on a GPU"
            )
            s = report.suggested_hyperparameters["cpu"]
            w(
                f"suggested (CPU): r={s['lora_r']} alpha={s['lora_alpha']} lr={s['learning_rate']} epochs={s['num_epochs']} "
                f"batch={s['batch_size']}x{s['gradient_accumulation_steps']}"
            )
            for line in report.privacy_findings:
                w(f"privacy: {line}")
            for line in report.problems:
                w(f"PROBLEM: {line}")
            for line in report.advice:
                w(f"to do: {line}")
            w("READY" if report.ready else "NOT READY")
        if not report.ready:
            raise CommandError("the training data is not ready: " + "; ".join(report.problems), returncode=1)
