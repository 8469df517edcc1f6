"""The one body of the services that create or change a plain record (patients, prescriptions,
products, recalls): set the given fields, check every rule of the model, save."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from django.db import models

RecordT = TypeVar("RecordT", bound=models.Model)


def record_save(*, record: RecordT, fields: Mapping[str, Any], writable: Collection[str]) -> RecordT:
    """Set ``fields`` on ``record``, run ``full_clean`` (a ValidationError naming the field and the
    rule, before anything is written) and save. A name outside ``writable`` is a TypeError: the
    API's serializers only pass known fields, so it is a caller's mistake, not a user's input.
    The caller holds the transaction."""
    unknown = set(fields) - set(writable)
    if unknown:
        raise TypeError(f"Unknown {record._meta.model_name} fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(record, name, value)
    record.full_clean()
    record.save()
    return record
