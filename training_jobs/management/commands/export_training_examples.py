from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from training_jobs.dataset_files import FORMATS
from training_jobs.models import TrainingExample
from training_jobs.selectors import training_examples_export_lines


class Command(BaseCommand):
    help = "Export training examples as JSONL (refuses when an example contains patient data)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path, nargs="?", help="file to write (default: standard output)")
        parser.add_argument("--format", default="prompt_completion", choices=FORMATS)
        parser.add_argument("--status", default="approved", choices=[*TrainingExample.Status.values, "all"])

    def handle(self, *args: Any, path: Path | None, format: str, status: str, **options: Any) -> None:
        examples = TrainingExample.objects.all() if status == "all" else TrainingExample.objects.filter(status=status)
        lines, findings = training_examples_export_lines(examples=examples, fmt=format)
        if findings:
            for finding in findings:
                self.stderr.write(f"  {finding.describe(reveal=True)}")
            raise CommandError(f"{len(findings)} examples contain patient data; edit or reject them first")
        out = path.open("w", encoding="utf-8") if path else sys.stdout
        try:
            for line in lines:
                out.write(line + "\n")
        finally:
            if path:
                out.close()
        if path:
            self.stdout.write(f"{len(lines)} examples written to {path}")
