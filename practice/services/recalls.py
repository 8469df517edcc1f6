from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from practice.models import Patient, Recall, RecallKind, RecallStatus

from .records import record_save

OPEN = (RecallStatus.PENDING, RecallStatus.BOOKED)
# Who and what a recall is for are fixed: a different patient or kind is a new recall.
_CHANGEABLE = {"due_date", "status", "notes", "last_contacted_at"}


@transaction.atomic
def recall_schedule(*, patient: Patient, kind: str, due_date: date, notes: str = "") -> Recall:
    """Set when ``patient`` is next due; an open recall of the same kind is moved, not duplicated."""
    if kind not in RecallKind.values:
        raise ValidationError({"kind": [f"Unknown recall kind {kind!r}; one of {', '.join(RecallKind.values)}."]})
    recall = Recall.objects.select_for_update().filter(patient=patient, kind=kind, status__in=OPEN).first()
    if recall is None:
        return Recall.objects.create(patient=patient, kind=kind, due_date=due_date, notes=notes)
    recall.due_date = due_date
    recall.status = RecallStatus.PENDING
    if notes:
        recall.notes = notes
    recall.save(update_fields=["due_date", "status", "notes", "updated_at"])
    return recall


@transaction.atomic
def recall_set_status(*, recall: Recall, status: str) -> Recall:
    if status not in RecallStatus.values:
        raise ValidationError(
            {"status": [f"Unknown recall status {status!r}; one of {', '.join(RecallStatus.values)}."]}
        )
    recall.status = status
    recall.full_clean()
    recall.save(update_fields=["status", "updated_at"])
    return recall


@transaction.atomic
def recall_update(*, recall: Recall, **fields: object) -> Recall:
    unknown = set(fields) - _CHANGEABLE
    if unknown:
        raise ValidationError({name: ["This field cannot be changed on a recall."] for name in sorted(unknown)})
    return record_save(record=recall, fields=fields, writable=_CHANGEABLE)
