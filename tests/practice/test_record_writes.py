"""The create and update services of plain records take known fields only, check every rule
before anything is written, and leave the record as it was when they refuse."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from practice import services
from practice.models import Patient, Product, Recall, SpectaclePrescription
from tests.practice.factories import PatientFactory, ProductFactory, RecallFactory, SpectaclePrescriptionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("write", "field"),
    [
        (lambda: services.patient_update(patient=PatientFactory(), phone_digits="0"), "phone_digits"),
        (lambda: services.patient_create(first_name="Ann", last_name="Lee", demo_key="x"), "demo_key"),
        (lambda: services.product_update(product=ProductFactory(), quantity_on_hand=99), "quantity_on_hand"),
        (
            lambda: services.spectacle_prescription_update(
                prescription=SpectaclePrescriptionFactory(), patient=PatientFactory()
            ),
            "patient",
        ),
    ],
)
def test_a_field_the_service_does_not_write_is_a_type_error_naming_it(write, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match=field):
        write()


def test_a_broken_rule_on_update_names_the_field_and_saves_nothing() -> None:
    rx = SpectaclePrescriptionFactory()
    with pytest.raises(ValidationError) as caught:
        services.spectacle_prescription_update(prescription=rx, right_sphere=Decimal("-2.30"), notes="changed")
    assert "right_sphere" in caught.value.message_dict
    stored = SpectaclePrescription.objects.get(pk=rx.pk)
    assert (stored.right_sphere, stored.notes) == (Decimal("-2.25"), "")


def test_updates_are_saved_and_returned() -> None:
    patient = services.patient_update(patient=PatientFactory(), phone="07700 900123", notes="prefers mornings")
    assert Patient.objects.filter(pk=patient.pk, phone_digits="07700900123", notes="prefers mornings").exists()
    product = services.product_update(product=ProductFactory(), price=Decimal("99.00"))
    assert Product.objects.get(pk=product.pk).price == Decimal("99.00")


def test_a_recall_keeps_its_patient_and_kind() -> None:
    recall = RecallFactory()
    with pytest.raises(ValidationError) as caught:
        services.recall_update(recall=recall, kind="cl_aftercare", notes="moved")
    assert caught.value.message_dict == {"kind": ["This field cannot be changed on a recall."]}
    assert Recall.objects.get(pk=recall.pk).notes == ""
