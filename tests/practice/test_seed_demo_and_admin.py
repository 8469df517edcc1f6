"""The demo practice and the admin as the practice's staff use it."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils.html import escape

from practice import selectors
from practice.models import (
    AuditEvent,
    Category,
    LabJob,
    LabJobStatus,
    Patient,
    Product,
    Recall,
    Sale,
    SaleLine,
    SaleStatus,
    SpectaclePrescription,
    StockMovement,
)
from practice.services import sales_summary_rebuild
from tests.practice.factories import SpectaclePrescriptionFactory, stocked_product

pytestmark = pytest.mark.django_db
SMALL = {"patients": 60, "sales": 220, "products": 80, "seed": 3}


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("seed_demo", stdout=out, **SMALL)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Patient, SpectaclePrescription, Product, Sale, SaleLine, StockMovement, LabJob, Recall)
    }


def sales_with_the_totals_of_their_lines() -> int:
    """Sales whose stored totals are those of their lines, VAT worked out line by line
    (PostgreSQL's ROUND takes halves up)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM practice_sale s JOIN (
                SELECT sale_id, SUM(unit_price * quantity) AS subtotal, SUM(discount) AS discount,
                       SUM(line_total) AS total, SUM(ROUND(line_total * tax_rate / (100 + tax_rate), 2)) AS tax
                FROM practice_saleline GROUP BY sale_id
            ) l ON l.sale_id = s.id
            WHERE (s.subtotal, s.discount_total, s.total, s.tax_total) = (l.subtotal, l.discount, l.total, l.tax)
            """
        )
        return int(cursor.fetchone()[0])


def test_seed_demo_is_idempotent(demo, settings) -> None:
    assert "Demo practice created" in demo and "password" in demo
    first = counts()
    assert first["Patient"] == 60 and first["Sale"] >= 220
    out = StringIO()
    call_command("seed_demo", stdout=out, **SMALL)
    assert "already loaded" in out.getvalue()
    assert counts() == first


def test_demo_data_is_consistent_and_complete(demo) -> None:
    for product in Product.objects.all():
        assert selectors.stock_ledger_total(product=product) == product.quantity_on_hand >= 0
    assert set(LabJob.objects.values_list("status", flat=True)) == set(LabJobStatus.values)
    assert set(Product.objects.values_list("category", flat=True)) == set(Category.values)
    for rx in SpectaclePrescription.objects.all()[:200]:
        assert rx.rule_errors() == {}
    today = __import__("django.utils.timezone", fromlist=["x"]).localdate()
    assert selectors.recalls_due(on=today, overdue_only=True)
    assert selectors.low_stock_products()
    # The stored rollup equals a rebuild from the sales.
    before = list(selectors.sales_summary(start=today.replace(year=today.year - 1), end=today, group_by="category"))
    sales_summary_rebuild()
    assert selectors.sales_summary(start=today.replace(year=today.year - 1), end=today, group_by="category") == before
    completed = Sale.objects.filter(status=SaleStatus.COMPLETED).count()
    assert selectors.sales_summary(start=today.replace(year=today.year - 1), end=today)[0]["sales"] == completed
    assert sales_with_the_totals_of_their_lines() == Sale.objects.count()
    assert Sale.objects.filter(discount_total__gt=0).exists()
    for job in LabJob.objects.select_related("sale"):
        assert job.reference == f"LJ-{job.sale.reference}-1"


def test_benchmark_scale_sales_carry_the_totals_of_their_lines(demo) -> None:
    call_command("seed_demo", stdout=StringIO(), scale=1500, **SMALL)
    scale_sales = Sale.objects.filter(reference__startswith="SCALE-")
    assert SaleLine.objects.filter(sale__in=scale_sales).count() >= 1500
    assert sales_with_the_totals_of_their_lines() == Sale.objects.count()
    for product in Product.objects.all():
        assert selectors.stock_ledger_total(product=product) == product.quantity_on_hand >= 0


def test_every_admin_page_opens_for_a_manager(demo, manager, admin_as) -> None:
    client = admin_as(manager)
    for model in (
        "patient",
        "spectacleprescription",
        "contactlensprescription",
        "product",
        "stockmovement",
        "sale",
        "labjob",
        "recall",
        "auditevent",
        "salesdaysummary",
    ):
        response = client.get(f"/admin/practice/{model}/")
        assert response.status_code == 200, model
    for model, obj in (
        ("patient", Patient.objects.first()),
        ("product", Product.objects.first()),
        ("sale", Sale.objects.filter(status="completed").first()),
        ("labjob", LabJob.objects.first()),
        ("spectacleprescription", SpectaclePrescription.objects.first()),
    ):
        assert client.get(f"/admin/practice/{model}/{obj.pk}/change/").status_code == 200, model
    assert client.get("/admin/practice/product/", {"stock": "low"}).status_code == 200
    assert client.get("/admin/practice/recall/", {"due": "overdue"}).status_code == 200
    exported = client.post(
        "/admin/practice/product/",
        {"action": "export_csv", "_selected_action": [p.pk for p in Product.objects.all()[:3]]},
    )
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert "Cost price" in exported.content.decode()


def test_a_manager_finds_a_patient_and_sees_the_prescription_as_written(demo, manager, admin_as) -> None:
    rx = SpectaclePrescription.objects.select_related("patient").order_by("-issue_date").first()
    patient = rx.patient
    client = admin_as(manager)
    listing = client.get("/admin/practice/patient/", {"q": f"{patient.last_name} {patient.date_of_birth:%d/%m/%Y}"})
    assert escape(patient.first_name).encode() in listing.content
    page = client.get(f"/admin/practice/patient/{patient.pk}/change/")
    latest = selectors.patient_latest_prescription(patient=patient)
    assert latest.render().encode() in page.content.replace(b"&#x27;", b"'")
    assert AuditEvent.objects.filter(action="view", patient=patient, actor=manager).exists()


def test_selling_a_frame_and_progressive_lenses_in_the_admin(clinician, admin_as) -> None:
    rx = SpectaclePrescriptionFactory()
    frame = stocked_product(2)
    lens = stocked_product(3, progressive_lens=True)
    client = admin_as(clinician)
    empty = {
        f"{prefix}-{key}": value
        for prefix in ("lines", "payments", "lab_jobs")
        for key, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }
    created = client.post(
        "/admin/practice/sale/add/",
        {
            **empty,
            "patient": rx.patient.pk,
            "notes": "",
            "lines-TOTAL_FORMS": "2",
            "lines-0-product": frame.pk,
            "lines-0-quantity": "1",
            "lines-1-product": lens.pk,
            "lines-1-quantity": "1",
            "lines-1-discount": "20.00",
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    sale = Sale.objects.get()
    assert sale.status == SaleStatus.DRAFT and sale.lines.count() == 2
    assert sale.total == frame.price + lens.price - 20
    change_url = f"/admin/practice/sale/{sale.pk}/change/"
    page = client.get(change_url)
    assert b"_complete" in page.content
    completed = client.post(
        change_url,
        {
            **empty,
            "patient": rx.patient.pk,
            "prescription": "",
            "notes": "",
            "_complete": "1",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            **{
                f"lines-{i}-{field}": value
                for i, line in enumerate(sale.lines.order_by("id"))
                for field, value in (
                    ("id", line.pk),
                    ("sale", sale.pk),
                    ("product", line.product_id),
                    ("quantity", line.quantity),
                    ("unit_price", line.unit_price),
                    ("discount", line.discount),
                )
            },
            "payments-TOTAL_FORMS": "1",
            "payments-0-method": "card",
            "payments-0-amount": "100.00",
        },
        follow=True,
    )
    assert completed.status_code == 200
    messages = [str(m) for m in completed.context["messages"]]
    assert any("completed" in m and "lab job" in m for m in messages), messages
    sale.refresh_from_db()
    frame.refresh_from_db(), lens.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED and sale.amount_paid == 100
    assert (frame.quantity_on_hand, lens.quantity_on_hand) == (1, 2)
    job = LabJob.objects.get(sale=sale)
    assert job.status == LabJobStatus.ORDERED and job.frame == frame and job.lens == lens
    listing = client.get("/admin/practice/labjob/")
    assert job.reference.encode() in listing.content
    advanced = client.post("/admin/practice/labjob/", {"action": "advance", "_selected_action": [job.pk]})
    assert advanced.status_code == 302
    job.refresh_from_db()
    assert job.status == LabJobStatus.AT_LAB


def test_completing_without_stock_in_the_admin_changes_nothing(clinician, admin_as) -> None:
    product = stocked_product(1)
    client = admin_as(clinician)
    from practice import services

    sale = services.sale_create(staff=clinician, lines=[{"product": product, "quantity": 2}])
    response = client.post(
        "/admin/practice/sale/", {"action": "complete_sales", "_selected_action": [sale.pk]}, follow=True
    )
    assert any("Not enough stock" in str(m) for m in response.context["messages"])
    product.refresh_from_db()
    sale.refresh_from_db()
    assert product.quantity_on_hand == 1 and sale.status == SaleStatus.DRAFT


def test_receive_stock_action(manager, reception, admin_as) -> None:
    product = stocked_product(1)
    client = admin_as(manager)
    form = client.post("/admin/practice/product/", {"action": "receive_stock", "_selected_action": [product.pk]})
    assert form.status_code == 200 and b"Receive stock" in form.content
    done = client.post(
        "/admin/practice/product/",
        {"action": "receive_stock", "_selected_action": [product.pk], "apply": "1", "quantity": "5", "note": "INV-1"},
    )
    assert done.status_code == 302
    product.refresh_from_db()
    assert product.quantity_on_hand == 6
    listing = admin_as(reception).get("/admin/practice/product/")
    assert not re.search(rb'value="receive_stock"', listing.content)


def test_stock_movements_are_read_only_in_the_admin(manager, admin_as) -> None:
    product = stocked_product(2)
    movement = product.stock_movements.get()
    client = admin_as(manager)
    assert client.get("/admin/practice/stockmovement/add/").status_code == 403
    page = client.get(f"/admin/practice/stockmovement/{movement.pk}/change/")
    assert page.status_code == 200 and b'name="quantity"' not in page.content
    assert client.post(f"/admin/practice/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403


def test_openapi_schema_and_docs(manager, api_as) -> None:
    client = api_as(manager)
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/patients/",
        "/api/v1/sales/{id}/complete/",
        "/api/v1/lab-jobs/{id}/advance/",
        "/api/v1/reports/sales-summary/",
        "/api/v1/products/low-stock/",
        "/api/v1/recalls/due/",
    ):
        assert path in paths, path
    assert client.get("/api/docs/").status_code == 200
