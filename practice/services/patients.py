from __future__ import annotations

from typing import Any

from django.db import transaction

from practice.models import ContactLensPrescription, Patient, SpectaclePrescription


def _assign(instance: Any, fields: dict[str, Any], *, locked: set[str]) -> None:
    names = {f.name for f in instance._meta.get_fields() if getattr(f, "concrete", False)} - locked
    unknown = set(fields) - names
    if unknown:
        raise TypeError(f"Unknown {instance._meta.model_name} fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)


_LOCKED = {"id", "created_at", "updated_at", "patient", "demo_key", "phone_digits"}


@transaction.atomic
def patient_create(**fields: Any) -> Patient:
    patient = Patient()
    _assign(patient, fields, locked=_LOCKED)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, **fields: Any) -> Patient:
    _assign(patient, fields, locked=_LOCKED)
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def spectacle_prescription_create(*, patient: Patient, **fields: Any) -> SpectaclePrescription:
    """Record a spectacle prescription. Plus-cylinder values are transposed to minus cylinder;
    every rule (ranges, 0.25 D steps, axis with cylinder...) is checked before anything is saved."""
    prescription = SpectaclePrescription(patient=patient)
    _assign(prescription, fields, locked=_LOCKED)
    prescription.full_clean()
    prescription.save()
    return prescription


@transaction.atomic
def spectacle_prescription_update(*, prescription: SpectaclePrescription, **fields: Any) -> SpectaclePrescription:
    _assign(prescription, fields, locked=_LOCKED)
    prescription.full_clean()
    prescription.save()
    return prescription


@transaction.atomic
def contact_lens_prescription_create(*, patient: Patient, **fields: Any) -> ContactLensPrescription:
    prescription = ContactLensPrescription(patient=patient)
    _assign(prescription, fields, locked=_LOCKED)
    prescription.full_clean()
    prescription.save()
    return prescription


@transaction.atomic
def contact_lens_prescription_update(
    *, prescription: ContactLensPrescription, **fields: Any
) -> ContactLensPrescription:
    _assign(prescription, fields, locked=_LOCKED)
    prescription.full_clean()
    prescription.save()
    return prescription
