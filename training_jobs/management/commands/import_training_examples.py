from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training_jobs.models import TrainingExample
from training_jobs.services import training_examples_import


class Command(BaseCommand):
    help = 'Import training examples from JSONL ({"prompt", "completion"} or {"messages": [...]} per line).'

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--status", default="draft", choices=TrainingExample.Status.values)
        parser.add_argument("--category", default="", help="category for lines that name none")

    def handle(self, *args: Any, path: Path, status: str, category: str, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(f"path: no file at {path}")
        try:
            with path.open("rb") as handle:
                report = training_examples_import(lines=handle, status=status, default_category=category)
        except ValidationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{report.created} imported, {report.duplicates} duplicates skipped, {len(report.errors)} bad lines"
        )
        for error in report.errors:
            self.stderr.write(f"  {error}")
        if report.errors:
            raise CommandError(f"{len(report.errors)} lines could not be imported (the valid ones were)", returncode=2)
