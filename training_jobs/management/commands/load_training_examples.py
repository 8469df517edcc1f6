from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from training_jobs.services import training_examples_load_shipped


class Command(BaseCommand):
    help = "Load the training examples shipped with OptiQ as approved examples (safe to rerun)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = training_examples_load_shipped()
        self.stdout.write(f"shipped training examples: {report.created} added, {report.duplicates} already present")
        for error in report.errors:
            self.stderr.write(f"  {error}")
