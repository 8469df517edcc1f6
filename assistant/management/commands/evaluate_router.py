"""Parser alone, router alone and router then parser on the data-question evaluation (both
splits) and on the router's held-out templates, over the demo practice built for the
evaluation's fixed day in a scratch database (the database in use is not touched)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.models import ModelVersion

RESULTS_START, RESULTS_END = "<!-- router:start -->", "<!-- router:end -->"
LOADED_FIELDS = ("name", "role", "path", "lora_path", "lora_scale", "n_ctx", "n_gpu_layers", "n_threads", "chat_format")


class Command(BaseCommand):
    help = "Exactness and wrong figures of parser, router and router-then-parser, with time per question."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--router", default="", help="a router version's name (default: the active router)")
        parser.add_argument("--router-questions", type=int, default=300, help="router held-out questions")
        parser.add_argument("--skip-data-questions", action="store_true")
        parser.add_argument("--data-split", choices=["tune", "held_out"], help="one split of the data questions")
        parser.add_argument("--save", action="store_true", help="store the figures with the version (the admin)")
        parser.add_argument("--results", default="", help="a RESULTS.md to write the table into")
        parser.add_argument("--show-wrong", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from assistant.eval.data import FIXED_TODAY, demo_users
        from assistant.eval.scratch import scratch_demo_practice
        from assistant.router.evaluation import evaluate_router

        versions = ModelVersion.objects.filter(role=ModelVersion.Role.ROUTER)
        stored = (
            versions.filter(name=options["router"]).first()
            if options["router"]
            else versions.filter(status=ModelVersion.Status.ACTIVE).first() or versions.order_by("-pk").first()
        )
        if stored is None:
            raise CommandError("no router version: train one (make train-router) or name one with --version")
        # The scratch database has no registry: the same weights, loaded from an unsaved copy.
        router = ModelVersion(pk=stored.pk, **{name: getattr(stored, name) for name in LOADED_FIELDS})
        started = time.monotonic()
        with scratch_demo_practice():
            report = evaluate_router(
                version=router,
                users=demo_users(),
                today=FIXED_TODAY,
                router_split_count=options["router_questions"],
                data_questions=not options["skip_data_questions"],
                data_split=options["data_split"],
            )
        table = report.markdown()
        self.stdout.write(
            f"Router {router.name} on the demo practice at {FIXED_TODAY:%-d %B %Y} ({time.monotonic() - started:.0f} s; "
            f"{report.invalid_outputs} of {report.outputs} router outputs failed validation):"
        )
        self.stdout.write(table)
        if options["show_wrong"]:
            for split, columns in report.splits.items():
                for column, figures in columns.items():
                    for detail in figures.wrong_examples:
                        self.stdout.write(f"wrong [{split}, {column}]: {detail}")
        if options["save"]:
            ModelVersion.objects.filter(pk=stored.pk).update(evaluation=report.as_dict())
        if options["results"]:
            self._write_results(Path(options["results"]), router.name, table, report)

    def _write_results(self, path: Path, name: str, table: str, report: Any) -> None:
        block = (
            f"{RESULTS_START}\n## Router: the fine-tuned Gemma 3 270M against the question parser\n\n"
            f"`python manage.py evaluate_router --router {name} --results benchmarks/RESULTS.md` (router {name}; "
            f"{report.invalid_outputs} of {report.outputs} router outputs failed validation). Exact (wrong figures) "
            "and time per question (planning, router decoding on this CPU, the query):\n\n"
            f"{table}\n{RESULTS_END}"
        )
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        pattern = re.compile(re.escape(RESULTS_START) + ".*?" + re.escape(RESULTS_END), re.S)
        text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
        path.write_text(text, encoding="utf-8")
