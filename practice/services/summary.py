"""The SalesDaySummary rollup the report selectors read (see its docstring for the counters)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction

from practice.models import Sale, SaleLine

_UPSERT = """
INSERT INTO practice_salesdaysummary
    (day, product_id, category, lens_type, units, revenue, sales_product, sales_lens_type, sales_category, sales_any)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (day, product_id, category, lens_type) DO UPDATE SET
    units = practice_salesdaysummary.units + EXCLUDED.units,
    revenue = practice_salesdaysummary.revenue + EXCLUDED.revenue,
    sales_product = practice_salesdaysummary.sales_product + EXCLUDED.sales_product,
    sales_lens_type = practice_salesdaysummary.sales_lens_type + EXCLUDED.sales_lens_type,
    sales_category = practice_salesdaysummary.sales_category + EXCLUDED.sales_category,
    sales_any = practice_salesdaysummary.sales_any + EXCLUDED.sales_any
"""


def summary_rows(lines: Iterable[SaleLine]) -> dict[tuple[int, str, str], list]:
    """Per (product, category, lens type): [units, revenue, sales_product, sales_lens_type,
    sales_category, sales_any] contributed by one sale's lines (taken in id order)."""
    rows: dict[tuple[int, str, str], list] = {}
    seen_products: set[int] = set()
    seen_lens_types: set[str] = set()
    seen_categories: set[str] = set()
    for index, line in enumerate(sorted(lines, key=lambda line: line.pk)):
        row = rows.setdefault((line.product_id, line.category, line.lens_type), [0, Decimal("0.00"), 0, 0, 0, 0])
        row[0] += line.quantity
        row[1] += line.line_total
        if line.product_id not in seen_products:
            seen_products.add(line.product_id)
            row[2] += 1
        if line.lens_type and line.lens_type not in seen_lens_types:
            seen_lens_types.add(line.lens_type)
            row[3] += 1
        if line.category not in seen_categories:
            seen_categories.add(line.category)
            row[4] += 1
        if index == 0:
            row[5] += 1
    return rows


def sales_summary_apply(*, sale: Sale, lines: list[SaleLine], sign: int) -> None:
    """Add (+1, on completion) or take away (-1, on refund) one sale; the caller holds the sale's lock."""
    params = [
        (
            sale.sale_date,
            product_id,
            category,
            lens_type,
            sign * units,
            sign * revenue,
            sign * sp,
            sign * slt,
            sign * sc,
            sign * sa,
        )
        for (product_id, category, lens_type), (units, revenue, sp, slt, sc, sa) in summary_rows(lines).items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_UPSERT, params)


@transaction.atomic
def sales_summary_rebuild() -> int:
    """Recompute the whole rollup from completed sales (after bulk loads, or to repair)."""
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE practice_salesdaysummary IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM practice_salesdaysummary")
        cursor.execute(
            """
            INSERT INTO practice_salesdaysummary
                (day, product_id, category, lens_type, units, revenue,
                 sales_product, sales_lens_type, sales_category, sales_any)
            SELECT s.sale_date, l.product_id, l.category, l.lens_type, SUM(l.quantity), SUM(l.line_total),
                   COUNT(*) FILTER (WHERE l.rn_product = 1),
                   COUNT(*) FILTER (WHERE l.rn_lens_type = 1 AND l.lens_type <> ''),
                   COUNT(*) FILTER (WHERE l.rn_category = 1),
                   COUNT(*) FILTER (WHERE l.rn_any = 1)
            FROM (
                SELECT l.*,
                       row_number() OVER (PARTITION BY l.sale_id, l.product_id ORDER BY l.id) AS rn_product,
                       row_number() OVER (PARTITION BY l.sale_id, l.lens_type ORDER BY l.id) AS rn_lens_type,
                       row_number() OVER (PARTITION BY l.sale_id, l.category ORDER BY l.id) AS rn_category,
                       row_number() OVER (PARTITION BY l.sale_id ORDER BY l.id) AS rn_any
                FROM practice_saleline l
                JOIN practice_sale s0 ON s0.id = l.sale_id AND s0.status = 'completed'
            ) l
            JOIN practice_sale s ON s.id = l.sale_id
            GROUP BY s.sale_date, l.product_id, l.category, l.lens_type
            """
        )
        count = cursor.rowcount
    return count
