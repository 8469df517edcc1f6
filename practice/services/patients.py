from __future__ import annotations

from typing import Any

from django.db import models, transaction

from practice.models import ContactLensPrescription, Patient, SpectaclePrescription

from .records import record_save

# Kept by the system or fixed when the record is made: a prescription never moves to another patient.
_LOCKED = {"id", "created_at", "updated_at", "patient", "demo_key", "phone_digits"}


def _writable(model: type[models.Model]) -> set[str]:
    return {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)} - _LOCKED


@transaction.atomic
def patient_create(**fields: Any) -> Patient:
    return record_save(record=Patient(), fields=fields, writable=_writable(Patient))


@transaction.atomic
def patient_update(*, patient: Patient, **fields: Any) -> Patient:
    return record_save(record=patient, fields=fields, writable=_writable(Patient))


@transaction.atomic
def spectacle_prescription_create(*, patient: Patient, **fields: Any) -> SpectaclePrescription:
    """Record a spectacle prescription. Plus-cylinder values are transposed to minus cylinder;
    every rule (ranges, 0.25 D steps, axis with cylinder...) is checked before anything is saved."""
    return record_save(
        record=SpectaclePrescription(patient=patient), fields=fields, writable=_writable(SpectaclePrescription)
    )


@transaction.atomic
def spectacle_prescription_update(*, prescription: SpectaclePrescription, **fields: Any) -> SpectaclePrescription:
    return record_save(record=prescription, fields=fields, writable=_writable(SpectaclePrescription))


@transaction.atomic
def contact_lens_prescription_create(*, patient: Patient, **fields: Any) -> ContactLensPrescription:
    return record_save(
        record=ContactLensPrescription(patient=patient), fields=fields, writable=_writable(ContactLensPrescription)
    )


@transaction.atomic
def contact_lens_prescription_update(
    *, prescription: ContactLensPrescription, **fields: Any
) -> ContactLensPrescription:
    return record_save(record=prescription, fields=fields, writable=_writable(ContactLensPrescription))
