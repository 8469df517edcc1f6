"""Rules the admin, the API and the services all hold: a sale's prescription is its patient's own
and still valid; refunds, voids, price overrides and discounts above the limit are for roles
that may (managers by default), not reception."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from practice import roles, services
from practice.models import LabJob, Sale, SaleLine, SaleStatus, StockMovement
from tests.practice.factories import PatientFactory, SpectaclePrescriptionFactory, stocked_product

pytestmark = pytest.mark.django_db
D = Decimal
SALE_PERMISSIONS = {"refund_sale", "void_sale", "override_sale_price", "give_large_discount"}


def empty_inlines() -> dict[str, str]:
    return {
        f"{prefix}-{key}": value
        for prefix in ("lines", "payments", "lab_jobs")
        for key, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }


def draft_with_lenses(patient: Any, staff: Any, prescription: Any = None) -> Sale:
    return services.sale_create(
        staff=staff,
        patient=patient,
        prescription=prescription,
        lines=[{"product": stocked_product(2)}, {"product": stocked_product(2, progressive_lens=True)}],
    )


# --- a sale's prescription -------------------------------------------------------------------


def test_an_admin_edit_cannot_attach_another_patients_prescription(clinician, admin_as) -> None:
    mine = SpectaclePrescriptionFactory()
    theirs = SpectaclePrescriptionFactory()
    sale = draft_with_lenses(mine.patient, clinician)
    response = admin_as(clinician).post(
        f"/admin/practice/sale/{sale.pk}/change/",
        {**empty_inlines(), "patient": mine.patient.pk, "prescription": theirs.pk, "notes": "", "_complete": "1"},
    )
    assert response.status_code == 200  # the form again, with the rule
    errors = response.context["adminform"].form.errors
    assert "must belong to the sale's patient" in " ".join(errors["prescription"])
    sale.refresh_from_db()
    assert sale.prescription_id is None and sale.status == SaleStatus.DRAFT
    assert not LabJob.objects.exists()


def test_no_path_attaches_another_patients_prescription(clinician, api_as) -> None:
    mine = SpectaclePrescriptionFactory()
    theirs = SpectaclePrescriptionFactory()
    lens = stocked_product(2, progressive_lens=True)
    response = api_as(clinician).post(
        "/api/v1/sales/",
        {"patient": mine.patient.pk, "prescription": theirs.pk, "lines": [{"product": lens.pk}]},
        format="json",
    )
    assert response.status_code == 400 and "belong to the sale's patient" in str(response.data["prescription"])
    assert not Sale.objects.exists()

    sale = draft_with_lenses(mine.patient, clinician)
    with pytest.raises(ValidationError) as caught:
        services.sale_update(sale=sale, patient=mine.patient, prescription=theirs, notes="")
    assert "prescription" in caught.value.message_dict
    sale.refresh_from_db()
    assert sale.prescription_id is None


def test_completing_a_sale_holding_another_patients_prescription_opens_no_lab_job(clinician) -> None:
    mine = SpectaclePrescriptionFactory()
    theirs = SpectaclePrescriptionFactory()
    sale = draft_with_lenses(mine.patient, clinician)
    # As an edit before this rule existed left it, or any write that went around the services.
    Sale.objects.filter(pk=sale.pk).update(prescription=theirs)
    sale.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.sale_complete(sale=sale, user=clinician)
    assert "belong to the sale's patient" in str(caught.value.message_dict["prescription"])
    assert not LabJob.objects.exists() and not StockMovement.objects.filter(kind="sale").exists()
    assert Sale.objects.get(pk=sale.pk).status == SaleStatus.DRAFT


def test_completing_a_sale_with_an_expired_prescription_is_refused_with_the_rule_named(clinician, api_as) -> None:
    today = timezone.localdate()
    expired = SpectaclePrescriptionFactory(
        issue_date=today - dt.timedelta(days=800), expiry_date=today - dt.timedelta(days=70)
    )
    client = api_as(clinician)
    for prescription in (expired, None):  # named on the sale, or the patient's latest by default
        sale = draft_with_lenses(expired.patient, clinician, prescription=prescription)
        response = client.post(f"/api/v1/sales/{sale.pk}/complete/")
        assert response.status_code == 400, response.data
        message = " ".join(response.data["prescription"])
        assert "expired on" in message and f"{expired.expiry_date:%d/%m/%Y}" in message
        assert Sale.objects.get(pk=sale.pk).status == SaleStatus.DRAFT
    assert not LabJob.objects.exists() and not StockMovement.objects.filter(kind="sale").exists()
    # A current prescription completes.
    current = SpectaclePrescriptionFactory(patient=expired.patient)
    sale = draft_with_lenses(expired.patient, clinician, prescription=current)
    assert client.post(f"/api/v1/sales/{sale.pk}/complete/").status_code == 200
    assert LabJob.objects.get().prescription == current


# --- refunds and voids -----------------------------------------------------------------------


def test_reception_cannot_refund_a_sale(reception, manager, api_as, admin_as) -> None:
    product = stocked_product(3, price=D("30.00"))
    client = api_as(reception)
    sale_id = client.post(
        "/api/v1/sales/",
        {"lines": [{"product": product.pk}], "payments": [{"method": "card", "amount": "30.00"}]},
        format="json",
    ).data["id"]
    assert client.post(f"/api/v1/sales/{sale_id}/complete/").status_code == 200
    assert client.post(f"/api/v1/sales/{sale_id}/refund/", {}, format="json").status_code == 403
    sale = Sale.objects.get(pk=sale_id)
    with pytest.raises(PermissionDenied) as caught:
        services.sale_refund(sale=sale, user=reception)
    assert "practice.refund_sale" in str(caught.value)
    # Nor in the admin: no button, no action, and a forged button press is refused.
    page = admin_as(reception).get(f"/admin/practice/sale/{sale_id}/change/")
    assert b'name="_refund"' not in page.content
    listing = admin_as(reception).get("/admin/practice/sale/")
    assert b'value="refund_sales"' not in listing.content
    admin_as(reception).post(
        f"/admin/practice/sale/{sale_id}/change/", {**empty_inlines(), "notes": "", "_refund": "1"}, follow=True
    )
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED and sale.amount_paid == D("30.00")
    product.refresh_from_db()
    assert product.quantity_on_hand == 2
    # A manager may.
    assert b'name="_refund"' in admin_as(manager).get(f"/admin/practice/sale/{sale_id}/change/").content
    refunded = api_as(manager).post(f"/api/v1/sales/{sale_id}/refund/", {"reason": "faulty"}, format="json")
    assert refunded.status_code == 200 and refunded.data["status"] == "refunded"


def test_reception_cannot_void_a_sale(reception, manager, api_as, admin_as) -> None:
    product = stocked_product(1)
    client = api_as(reception)
    sale_id = client.post(
        "/api/v1/sales/",
        {"lines": [{"product": product.pk}], "payments": [{"method": "cash", "amount": "20.00"}]},
        format="json",
    ).data["id"]
    denied = client.post(f"/api/v1/sales/{sale_id}/void/")
    assert denied.status_code == 403
    admin_as(reception).post("/admin/practice/sale/", {"action": "void_sales", "_selected_action": [sale_id]})
    assert Sale.objects.get(pk=sale_id).status == SaleStatus.DRAFT
    assert api_as(manager).post(f"/api/v1/sales/{sale_id}/void/").data["status"] == "voided"


# --- prices and discounts ----------------------------------------------------------------------


def test_reception_cannot_sell_at_a_price_other_than_the_products(reception, manager, api_as) -> None:
    product = stocked_product(5, price=D("120.00"))
    client = api_as(reception)
    denied = client.post("/api/v1/sales/", {"lines": [{"product": product.pk, "unit_price": "80.00"}]}, format="json")
    assert denied.status_code == 403
    message = " ".join(denied.data["lines"])
    assert "Line 1: unit_price:" in message and "practice.override_sale_price" in message
    assert not Sale.objects.exists()
    # The product's own price, written out, is no override.
    same = client.post("/api/v1/sales/", {"lines": [{"product": product.pk, "unit_price": "120.00"}]}, format="json")
    assert same.status_code == 201
    on_draft = client.post(
        f"/api/v1/sales/{same.data['id']}/lines/", {"product": product.pk, "unit_price": "1.00"}, format="json"
    )
    assert on_draft.status_code == 403 and "unit_price" in on_draft.data
    assert SaleLine.objects.count() == 1
    allowed = api_as(manager).post(
        "/api/v1/sales/", {"lines": [{"product": product.pk, "unit_price": "80.00"}]}, format="json"
    )
    assert allowed.status_code == 201 and allowed.data["total"] == "80.00"


def test_a_discount_above_the_limit_needs_the_permission(reception, manager, api_as, settings) -> None:
    product = stocked_product(10, price=D("120.00"))
    client = api_as(reception)

    def sell(discount: str, as_client: Any = client) -> Any:
        return as_client.post(
            "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 2, "discount": discount}]}, format="json"
        )

    assert settings.OPTIQ_DISCOUNT_LIMIT_PERCENT == 10
    assert sell("24.00").status_code == 201  # 10% of £240.00: at the limit
    denied = sell("24.01")
    assert denied.status_code == 403
    message = " ".join(denied.data["lines"])
    assert "discount" in message and "10%" in message and "practice.give_large_discount" in message
    assert Sale.objects.count() == 1
    assert sell("60.00", api_as(manager)).status_code == 201
    settings.OPTIQ_DISCOUNT_LIMIT_PERCENT = 25
    assert sell("60.00").status_code == 201


def test_a_large_discount_in_the_admin_saves_nothing_for_reception(reception, admin_as) -> None:
    patient = PatientFactory()
    product = stocked_product(2, price=D("100.00"))
    response = admin_as(reception).post(
        "/admin/practice/sale/add/",
        {
            **empty_inlines(),
            "patient": patient.pk,
            "notes": "",
            "lines-TOTAL_FORMS": "1",
            "lines-0-product": product.pk,
            "lines-0-quantity": "1",
            "lines-0-discount": "50.00",
        },
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("Nothing was saved" in m and "practice.give_large_discount" in m for m in messages), messages
    assert not Sale.objects.exists() and not SaleLine.objects.exists()


# --- who holds the permissions -----------------------------------------------------------------


def test_only_managers_hold_the_sale_permissions_and_the_migration_grants_them() -> None:
    def codenames(role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    assert SALE_PERMISSIONS <= codenames(roles.MANAGER)
    for role in (roles.RECEPTION, roles.CLINICIAN, roles.ML_ADMIN):
        assert not SALE_PERMISSIONS & codenames(role), role
    # The data migration alone grants them to an existing manager group.
    manager = Group.objects.get(name=roles.MANAGER)
    manager.permissions.remove(*Permission.objects.filter(codename__in=SALE_PERMISSIONS))
    migration = importlib.import_module("practice.migrations.0004_grant_sale_permissions_to_managers")
    migration.grant(global_apps, None)
    assert SALE_PERMISSIONS <= codenames(roles.MANAGER)
    assert not SALE_PERMISSIONS & codenames(roles.RECEPTION)
