"""Run the shipped evaluation: retrieval recall@5 and exactness of data answers over the demo practice."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = "Retrieval recall@k on the knowledge questions and exactness of data answers against raw SQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--verbose-misses", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from assistant.eval.data import data_exactness
        from assistant.eval.retrieval import retrieval_recall

        recall = retrieval_recall(k=options["k"])
        # An in-memory superuser: every tool's permission holds, nothing is written for it.
        evaluator = get_user_model()(username="eval_assistant", is_superuser=True, is_active=True)
        data = data_exactness(user=evaluator, today=timezone.localdate())
        rows = [
            ("metric", "value", "target", "questions"),
            (f"retrieval recall@{recall.k}", f"{recall.recall:.3f}", ">= 0.90", str(recall.total)),
            ("data answers exact", f"{data.exactness:.3f}", "1.000", str(data.total)),
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
        if options["verbose_misses"]:
            for question, article, found in recall.misses:
                self.stdout.write(f"miss: {question} (want {article}, got {found})")
        for failure in data.failures:
            self.stdout.write(f"inexact: {failure['question']}: {failure['problem']}")
