"""practice.report_queries against SQL written here over the raw tables: every figure an answer
quotes (units, revenue and the number of sales beside the headline one), under each kind of
filter and grouping, on the demo practice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from practice.models import Product
from practice.report_queries import FigureFilters, ReportQueryError, report_figures

TODAY = date(2026, 11, 18)
OCT = (date(2026, 10, 1), date(2026, 10, 31))
LINES = (
    "FROM practice_saleline sl JOIN practice_sale s ON s.id = sl.sale_id "
    "JOIN practice_product p ON p.id = sl.product_id WHERE s.status = 'completed' AND s.sale_date BETWEEN %s AND %s"
)


def sql(query: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def line_totals(where: str, params: list, period=OCT) -> tuple[int, Decimal, int]:
    units, revenue, sales = sql(
        f"SELECT COALESCE(SUM(sl.quantity), 0), COALESCE(SUM(sl.line_total), 0), COUNT(DISTINCT s.id) {LINES} {where}",
        [*period, *params],
    )[0]
    return int(units), Decimal(revenue), int(sales)


CASES = [
    ("", [], {}),
    ("AND sl.category = %s", ["frame"], {"category": "frame"}),
    ("AND sl.lens_type = %s", ["progressive"], {"lens_type": "progressive"}),
    ("AND p.brand = %s", ["Ray-Ban"], {"brand": "Ray-Ban"}),
    ("AND p.supplier = %s", ["Luxottica UK"], {"supplier": "Luxottica UK"}),
    ("AND p.lens_material = %s", ["high_index"], {"material": "high_index"}),
    ("AND p.lens_index = %s", [Decimal("1.60")], {"lens_index": Decimal("1.60")}),
    ("AND %s = ANY(p.coatings)", ["blue_filter"], {"coating": "blue_filter"}),
    (
        "AND p.brand = %s AND sl.category = %s",
        ["Zeiss", "spectacle_lens"],
        {"brand": "Zeiss", "category": "spectacle_lens"},
    ),
]


@pytest.mark.parametrize(("where", "params", "filters"), CASES)
@pytest.mark.parametrize("metric", ["units", "revenue", "sales"])
def test_units_revenue_and_sales_match_the_sale_lines_under_every_filter(demo, where, params, filters, metric):
    units, revenue, sales = line_totals(where, params)
    figures = report_figures(metric=metric, today=TODAY, start=OCT[0], end=OCT[1], filters=FigureFilters(**filters))
    assert figures.parts == {"units": units, "revenue": revenue, "sales": sales}
    assert figures.value == {"units": units, "revenue": revenue, "sales": sales}[metric]


@pytest.mark.parametrize(
    ("group_by", "key", "where"),
    [
        ("brand", "p.brand", "AND sl.category = 'frame'"),
        ("supplier", "p.supplier", ""),
        ("category", "sl.category", ""),
        ("lens_type", "sl.lens_type", "AND sl.lens_type <> ''"),
        ("product", "p.sku", "AND sl.category = 'frame'"),
        ("month", "to_char(s.sale_date, 'YYYY-MM')", ""),
        ("week", "to_char(date_trunc('week', s.sale_date), 'YYYY-MM-DD')", ""),
    ],
)
def test_grouped_rows_match_the_sale_lines(demo, group_by, key, where):
    filters = FigureFilters(category="frame") if "frame" in where else FigureFilters()
    truth = {
        str(k): (int(u), Decimal(r), int(n))
        for k, u, r, n in sql(
            f"SELECT {key}, SUM(sl.quantity), SUM(sl.line_total), COUNT(DISTINCT s.id) {LINES} {where} GROUP BY 1",
            list(OCT),
        )
    }
    figures = report_figures(metric="units", today=TODAY, start=OCT[0], end=OCT[1], filters=filters, group_by=group_by)
    field = {"product": "sku"}.get(group_by, group_by)
    got = {str(row[field]): (row["units"], row["revenue"], row["sales"]) for row in figures.rows if row["units"]}
    assert got == truth


def test_staff_and_payment_methods_read_the_sale_tables(demo):
    dawn = get_user_model().objects.get(username="dispenser")
    units, revenue, sales = line_totals("AND s.staff_id = %s", [dawn.pk])
    figures = report_figures(
        metric="units", today=TODAY, start=OCT[0], end=OCT[1], filters=FigureFilters(staff_id=dawn.pk)
    )
    assert figures.parts == {"units": units, "revenue": revenue, "sales": sales}
    taken, paid_sales = sql(
        "SELECT COALESCE(SUM(pm.amount), 0), COUNT(DISTINCT s.id) FROM practice_payment pm "
        "JOIN practice_sale s ON s.id = pm.sale_id WHERE s.status = 'completed' AND s.sale_date BETWEEN %s AND %s "
        "AND pm.method = 'cash'",
        list(OCT),
    )[0]
    cash = report_figures(
        metric="revenue", today=TODAY, start=OCT[0], end=OCT[1], filters=FigureFilters(payment_method="cash")
    )
    assert (cash.value, cash.parts["sales"], cash.source) == (Decimal(taken), paid_sales, "payments")


def test_margin_is_revenue_without_vat_less_current_cost(demo):
    (margin,) = sql(
        f"SELECT ROUND(SUM(sl.line_total * 100 / (100 + sl.tax_rate)) - SUM(sl.quantity * p.cost_price), 2) {LINES}",
        list(OCT),
    )[0]
    figures = report_figures(metric="margin", today=TODAY, start=OCT[0], end=OCT[1])
    assert figures.value == margin and figures.source == "sale lines"


def test_stock_lab_jobs_recalls_and_patients_seen(demo):
    (stock,) = sql("SELECT SUM(quantity_on_hand) FROM practice_product WHERE category = 'frame'", [])[0]
    (value,) = sql("SELECT SUM(quantity_on_hand * cost_price) FROM practice_product", [])[0]
    (ready,) = sql("SELECT COUNT(*) FROM practice_labjob WHERE status = 'ready'", [])[0]
    (overdue,) = sql("SELECT COUNT(*) FROM practice_recall WHERE status = 'pending' AND due_date < %s", [TODAY])[0]
    (seen,) = sql(
        "SELECT COUNT(DISTINCT patient_id) FROM (SELECT patient_id, issue_date FROM practice_spectacleprescription "
        "UNION ALL SELECT patient_id, issue_date FROM practice_contactlensprescription) rx "
        "WHERE issue_date BETWEEN %s AND %s",
        list(OCT),
    )[0]
    assert report_figures(metric="stock_on_hand", today=TODAY, filters=FigureFilters(category="frame")).value == stock
    assert report_figures(metric="stock_value", today=TODAY).value == value
    assert report_figures(metric="lab_jobs", today=TODAY, filters=FigureFilters(lab_status="ready")).value == ready
    assert report_figures(metric="recalls_overdue", today=TODAY).value == overdue
    assert report_figures(metric="patients_seen", today=TODAY, start=OCT[0], end=OCT[1]).value == seen


def test_rankings_rank_only_groups_with_figures_and_time_groups_list_every_bucket(demo):
    bottom = report_figures(
        metric="units",
        today=TODAY,
        start=OCT[0],
        end=OCT[1],
        filters=FigureFilters(category="frame"),
        group_by="brand",
        rank="bottom",
        limit=1,
    )
    sold = {b for (b,) in sql(f"SELECT DISTINCT p.brand {LINES} AND sl.category = 'frame'", list(OCT))}
    assert bottom.groups == len(sold) and bottom.rows[0]["brand"] in sold
    weeks = report_figures(metric="revenue", today=TODAY, start=date(2026, 11, 1), end=TODAY, group_by="week")
    assert [row["week"] for row in weeks.rows] == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    assert weeks.rows[0]["label"] == "week of 26 October 2026 (from 1 November)"


def test_a_combination_that_cannot_be_computed_is_an_error_not_a_figure(demo):
    frames = list(Product.objects.filter(category="frame").values_list("id", flat=True)[:1])
    with pytest.raises(ReportQueryError, match="payments are taken for whole sales"):
        report_figures(
            metric="revenue",
            today=TODAY,
            start=OCT[0],
            end=OCT[1],
            filters=FigureFilters(payment_method="card", product_ids=tuple(frames)),
        )
    with pytest.raises(ReportQueryError, match="needs a period"):
        report_figures(metric="units", today=TODAY)
