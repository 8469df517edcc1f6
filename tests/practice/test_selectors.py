"""Report selectors against an independent computation from the sales themselves."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from practice import roles, selectors, services
from practice.models import Category, LensType, Sale, SaleStatus
from tests.practice.factories import (
    PatientFactory,
    ProductFactory,
    RecallFactory,
    SpectaclePrescriptionFactory,
    give_stock,
    user_in_role,
)

D = Decimal
pytestmark = pytest.mark.django_db
TZ = ZoneInfo(settings.TIME_ZONE)


@pytest.fixture
def random_sales():
    """About 60 sales over three months, some refunded, some left as drafts, with discounts."""
    rng = random.Random(5)
    products = [
        give_stock(ProductFactory(category=Category.FRAME, price=D("149.00")), 500),
        give_stock(ProductFactory(category=Category.FRAME, price=D("89.00")), 500),
        give_stock(
            ProductFactory(
                category=Category.SPECTACLE_LENS,
                lens_type=LensType.PROGRESSIVE,
                frame_eye_size=None,
                frame_bridge=None,
                frame_temple=None,
                colour="",
                price=D("395.00"),
            ),
            500,
        ),
        give_stock(
            ProductFactory(
                category=Category.SPECTACLE_LENS,
                lens_type=LensType.SINGLE_VISION,
                frame_eye_size=None,
                frame_bridge=None,
                frame_temple=None,
                colour="",
                price=D("120.00"),
            ),
            500,
        ),
        give_stock(
            ProductFactory(
                category=Category.CONTACT_LENS,
                frame_eye_size=None,
                frame_bridge=None,
                frame_temple=None,
                price=D("27.50"),
            ),
            500,
        ),
        give_stock(
            ProductFactory(
                category=Category.SOLUTION, frame_eye_size=None, frame_bridge=None, frame_temple=None, price=D("11.99")
            ),
            500,
        ),
    ]
    rx = SpectaclePrescriptionFactory()
    # A manager: some of these sales carry discounts above the limit, and some are refunded.
    staff = user_in_role(roles.MANAGER)
    for _ in range(60):
        day = dt.date(2026, 3, 1) + dt.timedelta(days=rng.randint(0, 91))
        # Late evening times check that days are the practice's local days, not UTC days.
        at = dt.datetime.combine(day, dt.time(rng.choice([10, 23]), 30), TZ)
        lines = [
            {"product": p, "quantity": rng.randint(1, 3), "discount": D(rng.choice(["0", "0", "5.00"]))}
            for p in rng.sample(products, rng.randint(1, 4))
        ]
        if rng.random() < 0.3:  # the same product twice on one sale
            lines.append({"product": lines[0]["product"], "quantity": 1})
        sale = services.sale_create(staff=staff, patient=rx.patient, lines=lines, at=at)
        if rng.random() < 0.1:
            continue  # left as a draft
        services.sale_complete(sale=sale, user=staff, at=at)
        if rng.random() < 0.1:
            services.sale_refund(sale=sale, user=staff, at=at + dt.timedelta(days=3))
    return products


def independent(start: dt.date, end: dt.date, key, keep=lambda line: True):
    """Figures recomputed from completed sales' lines."""
    units: dict = defaultdict(int)
    revenue: dict = defaultdict(lambda: D("0.00"))
    sales: dict = defaultdict(set)
    for sale in Sale.objects.filter(status=SaleStatus.COMPLETED).prefetch_related("lines"):
        day = timezone.localtime(sale.completed_at).date()
        if not start <= day <= end:
            continue
        for line in sale.lines.all():
            if not keep(line):
                continue
            k = key(line, day)
            units[k] += line.quantity
            revenue[k] += line.quantity * line.unit_price - line.discount
            sales[k].add(sale.pk)
    return {k: (units[k], revenue[k], len(sales[k])) for k in units}


def as_map(rows, key):
    return {key(row): (row["units"], row["revenue"], row["sales"]) for row in rows if row["units"]}


START, END = dt.date(2026, 3, 1), dt.date(2026, 5, 31)


def test_sales_summary_matches_an_independent_computation(random_sales) -> None:
    total = selectors.sales_summary(start=START, end=END)[0]
    expected = independent(START, END, lambda line, day: "all")["all"]
    assert (total["units"], total["revenue"], total["sales"]) == expected

    by_month = selectors.sales_summary(start=START, end=END, group_by="month")
    assert [row["month"] for row in by_month] == ["2026-03", "2026-04", "2026-05"]
    assert as_map(by_month, lambda r: r["month"]) == independent(START, END, lambda line, day: f"{day:%Y-%m}")

    assert as_map(selectors.sales_summary(start=START, end=END, group_by="category"), lambda r: r["category"]) == (
        independent(START, END, lambda line, day: line.category)
    )
    assert as_map(selectors.sales_summary(start=START, end=END, group_by="lens_type"), lambda r: r["lens_type"]) == (
        independent(START, END, lambda line, day: line.lens_type, keep=lambda line: bool(line.lens_type))
    )
    assert as_map(selectors.sales_summary(start=START, end=END, group_by="product"), lambda r: r["product_id"]) == (
        independent(START, END, lambda line, day: line.product_id)
    )

    april = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert as_map(
        selectors.sales_summary(start=april[0], end=april[1], category="frame", group_by="month"), lambda r: r["month"]
    ) == independent(*april, lambda line, day: f"{day:%Y-%m}", keep=lambda line: line.category == "frame")
    lens = random_sales[2]
    only = selectors.sales_summary(start=START, end=END, product_id=lens.pk)[0]
    assert (only["units"], only["revenue"], only["sales"]) == independent(
        START, END, lambda line, day: "x", keep=lambda line: line.product_id == lens.pk
    )["x"]
    progressive = selectors.sales_summary(start=START, end=END, lens_type="progressive")[0]
    assert (progressive["units"], progressive["revenue"], progressive["sales"]) == independent(
        START, END, lambda line, day: "x", keep=lambda line: line.lens_type == "progressive"
    )["x"]


def test_top_products_match_and_refunds_drop_out(random_sales) -> None:
    expected = independent(START, END, lambda line, day: line.product_id)
    by_units = sorted(expected.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    top = selectors.top_products(start=START, end=END, limit=3)
    assert [(row["product_id"], row["units"], row["revenue"]) for row in top] == [
        (pk, units, revenue) for pk, (units, revenue, _) in by_units[:3]
    ]
    by_revenue = selectors.top_products(start=START, end=END, limit=10, by="revenue")
    assert [row["revenue"] for row in by_revenue] == sorted((row["revenue"] for row in by_revenue), reverse=True)

    before = selectors.sales_summary(start=START, end=END)[0]
    sale = Sale.objects.filter(status=SaleStatus.COMPLETED).order_by("pk").first()
    services.sale_refund(sale=sale, user=sale.staff)
    after = selectors.sales_summary(start=START, end=END)[0]
    assert after["sales"] == before["sales"] - 1
    assert after["revenue"] == before["revenue"] - sale.total


def test_bad_selector_arguments_raise_value_errors() -> None:
    with pytest.raises(ValueError):
        selectors.sales_summary(start=START, end=END, group_by="week")
    with pytest.raises(ValueError):
        selectors.top_products(start=START, end=END, category="hats")


def test_reports_api_returns_the_selector_figures(random_sales, manager, api_as) -> None:
    client = api_as(manager)
    response = client.get(
        "/api/v1/reports/sales-summary/", {"start": "2026-03-01", "end": "2026-05-31", "group_by": "category"}
    )
    assert response.status_code == 200
    assert {row["category"] for row in response.data} <= set(Category.values)
    bad = client.get("/api/v1/reports/sales-summary/", {"start": "2026-05-01", "end": "2026-04-01"})
    assert bad.status_code == 400 and "end" in bad.data
    top = client.get("/api/v1/reports/top-products/", {"start": "2026-03-01", "end": "2026-05-31", "limit": 2})
    assert top.status_code == 200 and len(top.data) == 2


def test_low_stock_products_and_suggested_order() -> None:
    low = give_stock(ProductFactory(reorder_level=4), 1)
    give_stock(ProductFactory(reorder_level=2), 9)
    ProductFactory(reorder_level=3, is_active=False)
    rows = selectors.low_stock_products()
    assert [row["sku"] for row in rows] == [low.sku]
    assert rows[0]["suggested_order_quantity"] == 7  # back up to twice the reorder level
    assert rows[0]["cost_price"] == low.cost_price
    assert selectors.low_stock_products(category="solution") == []


def test_patient_search_by_name_date_of_birth_and_phone() -> None:
    ann = PatientFactory(
        first_name="Ann", last_name="Hathaway", date_of_birth=dt.date(1956, 9, 26), phone="07700 900123"
    )
    PatientFactory(first_name="Bob", last_name="Hatcher", date_of_birth=dt.date(1980, 1, 2), phone="01858 555000")
    assert selectors.patient_search(query="hathaway") == [ann]
    assert selectors.patient_search(query="ann hath") == [ann]
    assert selectors.patient_search(query="26/09/1956") == [ann]
    assert selectors.patient_search(query="1956-09-26") == [ann]
    assert selectors.patient_search(query="07700 900123") == [ann]
    assert selectors.patient_search(query="+44 7700 900123") == [ann]
    assert selectors.patient_search(query="hat 02/01/1980")[0].first_name == "Bob"
    assert selectors.patient_search(query="") == []


def test_product_search_puts_an_exact_sku_first() -> None:
    exact = ProductFactory(sku="FR-RAY-0001", brand="Ray-Ban", model="RB5154 Clubmaster")
    ProductFactory(sku="FR-RAY-0001X", brand="Ray-Ban", model="RB5154 Clubmaster Oversized")
    assert selectors.product_search(query="fr-ray-0001")[0] == exact
    assert len(selectors.product_search(query="ray-ban clubmaster")) == 2
    assert selectors.product_search(query="no such thing") == []


def test_latest_prescription_and_its_rendering() -> None:
    patient = PatientFactory()
    SpectaclePrescriptionFactory(patient=patient, issue_date=dt.date(2022, 1, 5), right_sphere=D("-1.00"))
    latest = SpectaclePrescriptionFactory(patient=patient, issue_date=dt.date(2024, 1, 5))
    assert selectors.patient_latest_prescription(patient=patient) == latest
    assert latest.render().startswith("R -2.25/-0.75 x 180 Add +2.00; L -2.00/-0.50 x 170 Add +2.00")
    assert selectors.patient_latest_prescription(patient=PatientFactory()) is None


def test_recalls_due_and_overdue(api_as, reception) -> None:
    today = dt.date(2026, 6, 1)
    overdue = RecallFactory(due_date=dt.date(2026, 5, 1))
    soon = RecallFactory(due_date=dt.date(2026, 6, 20), kind="cl_aftercare")
    RecallFactory(due_date=dt.date(2026, 9, 1))
    RecallFactory(due_date=dt.date(2026, 5, 2), status="booked")
    due = selectors.recalls_due(on=today)
    assert [row["recall_id"] for row in due] == [overdue.pk, soon.pk]
    assert due[0]["overdue"] and due[0]["days_overdue"] == 31 and not due[1]["overdue"]
    assert [r["recall_id"] for r in selectors.recalls_due(on=today, overdue_only=True)] == [overdue.pk]
    assert [r["recall_id"] for r in selectors.recalls_due(on=today, kind="cl_aftercare")] == [soon.pk]
    response = api_as(reception).get("/api/v1/recalls/due/", {"on": "2026-06-01", "overdue_only": "true"})
    assert response.status_code == 200 and [r["recall_id"] for r in response.data] == [overdue.pk]
    assert api_as(reception).get("/api/v1/recalls/due/", {"on": "not-a-date"}).status_code == 400
