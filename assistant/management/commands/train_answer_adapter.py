"""Learn the map that turns a question's embedding toward its answers, from the knowledge
corpus's own question-and-answer items (assistant.knowledge.answer_adapter)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Train the quoting's answer direction on the corpus's question-and-answer items and write it."

    def add_arguments(self, parser: CommandParser) -> None:
        from assistant.knowledge.answer_adapter import ADAPTER_FILE, CORPUS_DIR

        parser.add_argument(
            "--corpus", type=Path, default=CORPUS_DIR, help=f"folder of articles (default: {CORPUS_DIR})"
        )
        parser.add_argument(
            "--output", type=Path, default=ADAPTER_FILE, help=f"where to write it (default: {ADAPTER_FILE})"
        )
        parser.add_argument("--check", action="store_true", help="only say whether the map is current for the corpus")

    def handle(self, *args: Any, **options: Any) -> None:
        from assistant.knowledge.answer_adapter import adapter, adapter_save, adapter_train, corpus_pairs, pairs_digest

        if not options["corpus"].is_dir():
            raise CommandError(f"{options['corpus']}: no such folder")
        pairs = corpus_pairs(options["corpus"])
        digest = pairs_digest(pairs)
        if options["check"]:
            trained = adapter(options["output"])
            if trained is None or trained[1] != digest:
                raise CommandError(f"{options['output']} is not trained on these articles: run train_answer_adapter")
            self.stdout.write(f"current: {len(pairs)} items, digest {digest[:12]}")
            return
        if not pairs:
            raise CommandError(f"{options['corpus']}: the articles have no question-and-answer items to learn from")
        started = time.perf_counter()
        matrix = adapter_train(pairs)
        adapter_save(matrix, digest=digest, path=options["output"])
        self.stdout.write(
            f"Trained on {len(pairs)} question-and-answer items in {time.perf_counter() - started:.0f} s; "
            f"wrote {options['output']} (digest {digest[:12]})"
        )
