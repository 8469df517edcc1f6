"""Benchmark-sized sales (`seed_demo --scale N`): about N sale lines over the last 12 months,
written with COPY, then the stock ledger, quantities and report rollup derived in SQL so that
everything stays as consistent as data made through the services."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from practice.models import Category, Patient, Product, SaleLine, sale_line_total, vat_included
from practice.services import sales_summary_rebuild, stock_recompute

from .builder import MONTH_WEIGHT, WEEKDAY_WEIGHT

SCALE_PREFIX = "SCALE-"
CATEGORY_SHARE = {
    Category.CONTACT_LENS: 34,
    Category.SOLUTION: 20,
    Category.ACCESSORY: 14,
    Category.FRAME: 16,
    Category.SPECTACLE_LENS: 16,
}


def scale_line_count() -> int:
    return SaleLine.objects.filter(sale__reference__startswith=SCALE_PREFIX).count()


def _copy(cursor: Any, table: str, columns: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def _value(value: Any) -> str:
    return "\\N" if value is None else str(value)


def build_scale(
    *, lines: int, seed: int = 7, today: date | None = None, say: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Add sales until the scale data set has about ``lines`` sale lines (a rerun adds nothing)."""
    from django.utils import timezone

    existing = scale_line_count()
    if existing >= lines:
        return {"skipped": True, "sale_lines": existing}
    today = today or timezone.localdate()
    now = timezone.now() - timedelta(minutes=1)
    rng = random.Random(seed + existing)
    tz = ZoneInfo(settings.TIME_ZONE)
    products = list(
        Product.objects.filter(is_active=True).values_list("id", "price", "tax_rate", "category", "lens_type")
    )
    if not products:
        raise RuntimeError("No products: run seed_demo without --scale first.")
    by_category: dict[str, list[tuple]] = {}
    for row in products:
        by_category.setdefault(row[3], []).append(row)
    categories = [c for c in CATEGORY_SHARE if c in by_category]
    category_weights = [CATEGORY_SHARE[c] for c in categories]
    # Within a category a few products sell much more than the rest (Zipf-like).
    product_weights = {c: [1 / (rank + 1) ** 0.8 for rank in range(len(rows))] for c, rows in by_category.items()}
    patient_ids = list(Patient.objects.values_list("id", flat=True)[:50_000])
    staff_ids = list(get_user_model().objects.filter(is_staff=True).values_list("id", flat=True)) or list(
        get_user_model().objects.values_list("id", flat=True)[:1]
    )
    days = [today - timedelta(days=offset) for offset in range(364, -1, -1)]
    day_weights = [MONTH_WEIGHT[d.month] * max(WEEKDAY_WEIGHT[d.weekday()], 0.05) for d in days]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "LOCK TABLE practice_sale, practice_saleline, practice_payment, practice_stockmovement IN EXCLUSIVE MODE"
        )
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM practice_sale")
        next_sale = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM practice_saleline")
        next_line = cursor.fetchone()[0] + 1
        first_sale = next_sale
        sales_buffer, lines_buffer = io.StringIO(), io.StringIO()
        made = 0
        sale_days = rng.choices(days, day_weights, k=max(need := lines - existing, 1) // 2 + 1)
        sale_days.sort()
        day_index = 0
        while made < need:
            day = sale_days[day_index % len(sale_days)]
            day_index += 1
            minutes = rng.randint(9 * 60, 17 * 60 + 20)
            moment = min(datetime.combine(day, time(minutes // 60, minutes % 60, rng.randint(0, 59)), tz), now)
            count = min(rng.choices([1, 2, 3], [40, 30, 30])[0], need - made)
            subtotal = tax = Decimal("0.00")
            for category in rng.choices(categories, category_weights, k=count):
                product_id, price, rate, cat, lens_type = rng.choices(by_category[category], product_weights[category])[
                    0
                ]
                quantity = rng.choice([1, 1, 1, 2, 3]) if cat in (Category.CONTACT_LENS, Category.SOLUTION) else 1
                line_total = sale_line_total(unit_price=price, quantity=quantity)
                subtotal += line_total
                tax += vat_included(amount=line_total, rate=rate)
                lines_buffer.write(
                    f"{next_line}\t{next_sale}\t{product_id}\t{quantity}\t{price}\t0.00\t{line_total}\t{rate}\t{cat}\t{lens_type}\n"
                )
                next_line += 1
            made += count
            refunded = rng.random() < 0.015
            status = "refunded" if refunded else "completed"
            refunded_at = moment + timedelta(days=2) if refunded else None
            patient = rng.choice(patient_ids) if patient_ids and rng.random() < 0.6 else None
            paid = Decimal("0.00") if refunded else subtotal
            sales_buffer.write(
                "\t".join(
                    _value(v)
                    for v in (
                        next_sale,
                        f"{SCALE_PREFIX}{next_sale}",
                        patient,
                        rng.choice(staff_ids),
                        None,
                        status,
                        moment.isoformat(),
                        moment.isoformat(),
                        day.isoformat(),
                        refunded_at.isoformat() if refunded_at else None,
                        None,
                        subtotal,
                        "0.00",
                        subtotal,
                        tax,
                        paid,
                        "",
                    )
                )
                + "\n"
            )
            next_sale += 1
        say(f"Writing {next_sale - first_sale} sales and {need} sale lines…")
        _copy(
            cursor,
            "practice_sale",
            "id, reference, patient_id, staff_id, prescription_id, status, created_at, "
            "completed_at, sale_date, refunded_at, voided_at, subtotal, discount_total, total, tax_total, amount_paid, notes",
            sales_buffer,
        )
        _copy(
            cursor,
            "practice_saleline",
            "id, sale_id, product_id, quantity, unit_price, discount, line_total, tax_rate, category, lens_type",
            lines_buffer,
        )
        for table in ("practice_sale", "practice_saleline"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        say("Recording payments and the stock ledger…")
        cursor.execute(
            """
            INSERT INTO practice_payment (sale_id, method, amount, taken_at, taken_by_id)
            SELECT id, 'card', total, completed_at, staff_id FROM practice_sale WHERE id >= %s
            UNION ALL
            SELECT id, 'card', -total, refunded_at, staff_id FROM practice_sale WHERE id >= %s AND status = 'refunded'
            """,
            [first_sale, first_sale],
        )
        # Enough stock arrives before the first of these sales for every one of them, so the
        # running balance never goes below what it was.
        cursor.execute(
            """
            INSERT INTO practice_stockmovement (product_id, kind, quantity, balance_after, note, created_at)
            SELECT l.product_id, 'receipt', SUM(l.quantity), 0, 'Stock for benchmark sales', %s
            FROM practice_saleline l WHERE l.sale_id >= %s GROUP BY l.product_id
            """,
            [datetime.combine(days[0] - timedelta(days=1), time(7, 0), tz), first_sale],
        )
        cursor.execute(
            """
            INSERT INTO practice_stockmovement (product_id, kind, quantity, balance_after, sale_line_id, note, created_by_id, created_at)
            SELECT l.product_id, 'sale', -l.quantity, 0, l.id, 'Sale ' || s.reference, s.staff_id, s.completed_at
            FROM practice_saleline l JOIN practice_sale s ON s.id = l.sale_id WHERE s.id >= %s
            UNION ALL
            SELECT l.product_id, 'return', l.quantity, 0, l.id, 'Refund of ' || s.reference, s.staff_id, s.refunded_at
            FROM practice_saleline l JOIN practice_sale s ON s.id = l.sale_id WHERE s.id >= %s AND s.status = 'refunded'
            """,
            [first_sale, first_sale],
        )
        cursor.execute(
            """
            UPDATE practice_stockmovement m SET balance_after = r.running
            FROM (SELECT id, SUM(quantity) OVER (PARTITION BY product_id ORDER BY created_at, id) AS running
                  FROM practice_stockmovement) r
            WHERE r.id = m.id AND m.balance_after IS DISTINCT FROM r.running
            """
        )
        stock_recompute()
        say("Rebuilding the report rollup…")
        summary_rows = sales_summary_rebuild()
        cursor.execute("ANALYZE practice_sale; ANALYZE practice_saleline; ANALYZE practice_salesdaysummary")
    return {
        "skipped": False,
        "sales": next_sale - first_sale,
        "sale_lines": existing + need,
        "summary_rows": summary_rows,
    }
