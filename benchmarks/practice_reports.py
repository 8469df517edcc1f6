"""Report selectors the assistant calls, on the `seed_demo --scale` data set.

    .venv/bin/python benchmarks/practice_reports.py                 # 1,000,000 sale lines
    .venv/bin/python benchmarks/practice_reports.py --lines 200000 --no-write

Starts a throw-away embedded PostgreSQL of its own (the dev database stays small), migrates,
loads the demo practice and the scale sales, then times each report query: the median of
--runs runs after one warm-up. "Before" is the natural query over sale lines joined to their
sales with none of the report indexes (dropped inside a transaction that is rolled back);
"after" is the selector as shipped, reading the SalesDaySummary rollup through its covering
index. Both must give the same figures: the script checks before timing. The table goes to
this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import median_ms, setup_django, teardown_django, write_section

# The indexes this work added for the reports; "before" runs without them.
REPORT_INDEXES = ["salesday_day_covering", "sale_status_date", "recall_pending_due", "product_low_stock"]


def queries(today: date) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, before, after): each pair returns the same figures."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    from practice import selectors
    from practice.models import SaleLine

    year_start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = (last_month_end.replace(day=1), last_month_end)
    quarter = (today - timedelta(days=89), today)

    def lines(start: date, end: date):  # type: ignore[no-untyped-def]
        return SaleLine.objects.filter(sale__status="completed", sale__sale_date__gte=start, sale__sale_date__lte=end)

    def figures():  # type: ignore[no-untyped-def]
        return {"units": Sum("quantity"), "revenue": Sum("line_total"), "sales": Count("sale_id", distinct=True)}

    def by_month_before() -> dict:
        rows = (
            lines(year_start, today).annotate(month=TruncMonth("sale__sale_date")).values("month").annotate(**figures())
        )
        return {f"{r['month']:%Y-%m}": (r["units"], r["revenue"], r["sales"]) for r in rows}

    def by_month_after() -> dict:
        rows = selectors.sales_summary(start=year_start, end=today, group_by="month")
        return {r["month"]: (r["units"], r["revenue"], r["sales"]) for r in rows if r["units"]}

    def by_category_before(start: date, end: date) -> Callable[[], dict]:
        def run() -> dict:
            rows = lines(start, end).values("category").annotate(**figures())
            return {r["category"]: (r["units"], r["revenue"], r["sales"]) for r in rows}

        return run

    def by_category_after(start: date, end: date) -> Callable[[], dict]:
        def run() -> dict:
            rows = selectors.sales_summary(start=start, end=end, group_by="category")
            return {r["category"]: (r["units"], r["revenue"], r["sales"]) for r in rows}

        return run

    def lens_types_before() -> dict:
        rows = lines(*quarter).exclude(lens_type="").values("lens_type").annotate(**figures())
        return {r["lens_type"]: (r["units"], r["revenue"], r["sales"]) for r in rows}

    def lens_types_after() -> dict:
        rows = selectors.sales_summary(start=quarter[0], end=quarter[1], group_by="lens_type")
        return {r["lens_type"]: (r["units"], r["revenue"], r["sales"]) for r in rows}

    def top_before(start: date, end: date) -> Callable[[], list]:
        def run() -> list:
            rows = (
                lines(start, end)
                .values("product_id")
                .annotate(units=Sum("quantity"), revenue=Sum("line_total"))
                .order_by("-units", "-revenue", "product_id")[:10]
            )
            return [(r["product_id"], r["units"], r["revenue"]) for r in rows]

        return run

    def top_after(start: date, end: date) -> Callable[[], list]:
        def run() -> list:
            return [(r["product_id"], r["units"], r["revenue"]) for r in selectors.top_products(start=start, end=end)]

        return run

    def low_stock_after() -> list:
        return [row["sku"] for row in selectors.low_stock_products()]

    def recalls_after() -> list:
        return [row["recall_id"] for row in selectors.recalls_due(on=today)]

    return [
        ("Revenue and units by month, last 12 months", by_month_before, by_month_after),
        ("Revenue and units by category, last month", by_category_before(*last_month), by_category_after(*last_month)),
        (
            "Revenue and units by category, last 12 months",
            by_category_before(year_start, today),
            by_category_after(year_start, today),
        ),
        ("Revenue by lens type, last 90 days", lens_types_before, lens_types_after),
        ("Top 10 products, last 90 days", top_before(*quarter), top_after(*quarter)),
        ("Top 10 products, last 12 months", top_before(year_start, today), top_after(year_start, today)),
        # The same selector both times: only the partial indexes differ.
        ("Low stock", low_stock_after, low_stock_after),
        ("Recalls due (next 30 days and overdue)", recalls_after, recalls_after),
    ]


def measure(lines: int, runs: int) -> tuple[list[tuple[str, float, float]], dict[str, Any]]:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from practice.models import Sale, SaleLine

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", scale=lines, verbosity=1)
    build_s = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    today = timezone.localdate()
    table = queries(today)
    for name, before, after in table:
        if before() != after():
            raise SystemExit(f"{name}: the selector's figures differ from the direct query")
    results: list[tuple[str, float, float]] = []
    after_ms = {name: median_ms(after, runs) for name, _, after in table}
    with transaction.atomic():
        with connection.cursor() as cursor:
            for index in REPORT_INDEXES:
                cursor.execute(f'DROP INDEX IF EXISTS "{index}"')
        before_ms = {name: median_ms(before, runs) for name, before, _ in table}
        transaction.set_rollback(True)
    for name, _, _ in table:
        results.append((name, before_ms[name], after_ms[name]))
    facts = {
        "sale_lines": SaleLine.objects.count(),
        "sales": Sale.objects.filter(status="completed").count(),
        "build_s": build_s,
        "runs": runs,
        "today": today,
    }
    return results, facts


def render(results: list[tuple[str, float, float]], facts: dict[str, Any], command: str) -> str:
    out = [
        "## Practice reports (selectors the assistant calls)",
        "",
        f"`{command}` — {facts['sale_lines']:,} sale lines in {facts['sales']:,} completed sales over the 12 months "
        f"to {facts['today']:%d %b %Y} (built in {facts['build_s']:.0f} s); median of {facts['runs']} runs after a "
        "warm-up. *Before*: the same figures straight from sale lines joined to their sales, without the report "
        "indexes (low stock and recalls: the same selector without its partial index). *After*: the shipped selectors, which read the `SalesDaySummary` daily rollup (kept by "
        "`sale_complete` / `sale_refund` in the same transaction) through its covering index. Target: under 100 ms "
        "per query at 1,000,000 sale lines.",
        "",
        "| query | before (ms) | after (ms) | speed-up | under 100 ms |",
        "| --- | ---: | ---: | ---: | :---: |",
    ]
    for name, before, after in results:
        out.append(
            f"| {name} | {before:,.1f} | {after:,.1f} | {before / after:,.1f}× | {'yes' if after < 100 else 'NO'} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="scale sale lines (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="optiq-bench-") as tmp:
        setup_django(Path(tmp))
        results, facts = measure(args.lines, args.runs)
        teardown_django(Path(tmp))
    command = "python benchmarks/practice_reports.py" + (f" --lines {args.lines}" if args.lines != 1_000_000 else "")
    section = render(results, facts, command)
    print(section)
    if not args.no_write:
        write_section("practice_reports", section)


if __name__ == "__main__":
    main()
