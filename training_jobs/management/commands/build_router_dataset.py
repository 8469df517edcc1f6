"""Build the router data set from the practice's catalogue and staff, as training examples."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from assistant.router import ROUTER_CATEGORY
from training_jobs.services.router_examples import DEFAULT_COUNT, router_dataset_build


class Command(BaseCommand):
    help = (
        "Write router training examples (question -> structured query, listing, knowledge or ask back) made from "
        f"templates over the practice's vocabulary, in the category {ROUTER_CATEGORY!r}. They are checked (each "
        "validates as a query or a tool call and its period resolves) and scanned for patient data; --status "
        "approved (the default) makes them trainable at once, --status draft leaves them for review in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="pairs to make (default %(default)s)")
        parser.add_argument("--status", choices=["approved", "draft"], default="approved")
        parser.add_argument("--seed", type=int, default=20261118)

    def handle(self, *args: Any, count: int, status: str, seed: int, **options: Any) -> None:
        try:
            report = router_dataset_build(count=count, status=status, seed=seed)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"router data set: {report.made} pairs made, {report.created} new {status} examples, "
            f"{report.duplicates} already there, {len(report.left_out_for_privacy)} left out (patient names)"
        )
        self.stdout.write(", ".join(f"{family} {n}" for family, n in sorted(report.families.items())))
