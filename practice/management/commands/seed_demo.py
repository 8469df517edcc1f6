"""`manage.py seed_demo`: the demo practice (idempotent: a rerun finds it and returns at once).

seed_demo                      # ~1,200 patients, 300 products, ~3,600 sales over 12 months
seed_demo --patients 60 --sales 200 --products 80    # a small one (tests)
seed_demo --scale 1000000      # add benchmark sales until there are 1,000,000 scale sale lines
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from practice.demo.builder import DEMO_STAFF, STAFF_FILE, build_demo, demo_loaded, ensure_demo_staff
from practice.demo.scale import build_scale
from practice.models import Patient, Product, Sale


class Command(BaseCommand):
    help = "Create a realistic, deterministic demo practice (and, with --scale, benchmark-sized sales)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=1200, help="Patients (default 1200).")
        parser.add_argument("--sales", type=int, default=3600, help="Sales over the last 12 months (default 3600).")
        parser.add_argument("--products", type=int, default=300, help="Catalogue size (default 300).")
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed (the same seed and day give the same data)."
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            metavar="YYYY-MM-DD",
            help="The day the demo's twelve months of sales end (default: today).",
        )
        parser.add_argument(
            "--scale",
            type=int,
            default=0,
            metavar="LINES",
            help="Also add benchmark sales up to this many scale sale lines (e.g. 1000000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if demo_loaded():
            _, password = ensure_demo_staff()
            self.stdout.write(
                f"Demo practice already loaded ({Patient.objects.count()} patients, {Product.objects.count()} products, "
                f"{Sale.objects.filter(status='completed').count()} completed sales)."
            )
        else:
            counts = build_demo(
                patients=options["patients"],
                sales=options["sales"],
                products=options["products"],
                seed=options["seed"],
                today=options["today"],
            )
            _, password = ensure_demo_staff()
            self.stdout.write(
                f"Demo practice created in {time.monotonic() - started:.1f} s: "
                + ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in counts.items())
            )
        self.stdout.write(
            f"Demo staff logins ({', '.join(f'{u} ({role})' for u, role, *_ in DEMO_STAFF)}), "
            f"password: {password} (kept in OPTIQ_DATA_DIR/{STAFF_FILE})"
        )
        if options["scale"]:
            result = build_scale(lines=options["scale"], seed=options["seed"], say=self.stdout.write)
            if result["skipped"]:
                self.stdout.write(f"Scale data already has {result['sale_lines']} sale lines.")
            else:
                self.stdout.write(
                    f"Scale data: {result['sales']} sales, {result['sale_lines']} sale lines in total "
                    f"({time.monotonic() - started:.1f} s)."
                )
