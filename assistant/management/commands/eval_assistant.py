"""Run the shipped evaluation: retrieval recall@5 over the knowledge base, and the data questions
over the demo practice built for the evaluation's fixed day in a scratch database (the
database in use is not touched by the data part)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Retrieval recall@k on the knowledge questions; data questions against hand-written SQL (both splits)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--verbose-misses", action="store_true", help="List every miss, not only wrong figures.")
        parser.add_argument("--skip-retrieval", action="store_true")
        parser.add_argument("--skip-data", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_retrieval"]:
            self._retrieval(options)
        if not options["skip_data"]:
            self._data(options)

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))

    def _retrieval(self, options: dict[str, Any]) -> None:
        from assistant.eval.retrieval import retrieval_recall

        recall = retrieval_recall(k=options["k"])
        self._table(
            [
                ("metric", "value", "target", "questions"),
                (f"retrieval recall@{recall.k}", f"{recall.recall:.3f}", ">= 0.90", str(recall.total)),
            ]
        )
        if options["verbose_misses"]:
            for question, article, found in recall.misses:
                self.stdout.write(f"miss: {question} (want {article}, got {found})")
        self.stdout.write("")

    def _data(self, options: dict[str, Any]) -> None:
        from assistant.eval.data import DEMO, FIXED_TODAY, demo_users, evaluate_data_questions
        from assistant.eval.data_periods import measure_periods
        from practice.demo.builder import build_demo

        started = time.monotonic()
        old_name = connection.settings_dict["NAME"]
        old_data_dir = settings.DATA_DIR
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with tempfile.TemporaryDirectory() as scratch:
                settings.DATA_DIR = Path(scratch)  # the demo logins' password file goes here
                build_demo(**DEMO, today=FIXED_TODAY)
                built = time.monotonic() - started
                evaluation = evaluate_data_questions(users=demo_users(), today=FIXED_TODAY)
                periods = measure_periods(FIXED_TODAY)
        finally:
            settings.DATA_DIR = old_data_dir
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write(
            f"Data questions: demo practice at {FIXED_TODAY:%-d %B %Y} (seed {DEMO['seed']}, built in {built:.0f} s), "
            "truth by hand-written SQL; how each split was made and first measured: assistant/eval/data.py."
        )
        self._table(evaluation.table())
        self.stdout.write("")
        readers: list[tuple[str, ...]] = [("period reader", "right", "wrong", "none", "of", "median ms")]
        self._table(
            readers
            + [
                (r.name, str(r.right), str(r.wrong), str(r.none), str(r.total), f"{r.median_ms:.1f}")
                for r in periods.readers
            ]
        )
        self.stdout.write(f"({periods.single_days} of the {periods.questions} periods are single days.)")
        for outcome in evaluation.outcomes:
            if outcome.result == "wrong" or (options["verbose_misses"] and outcome.result != "exact"):
                self.stdout.write(f"{outcome.result}: [{outcome.split}] {outcome.question} — {outcome.detail}")
