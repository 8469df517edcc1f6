from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from practice import selectors
from practice.models import (
    AuditEvent,
    Category,
    ContactLensPrescription,
    LabJob,
    LensType,
    Patient,
    Product,
    Recall,
    Sale,
    SpectaclePrescription,
    StockMovement,
)


class TrueOrFalseField(forms.NullBooleanField):
    """`true` or `false` (any case), or absent: anything else is a 400 naming the parameter, not
    silently ignored as Django's NullBooleanField would."""

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # None: not given
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        word = str(value).lower()
        if word not in {"true", "false"}:
            raise ValidationError("Give true or false.", code="invalid")
        return word == "true"

    def validate(self, value: Any) -> None:
        pass


@extend_schema_field(OpenApiTypes.BOOL)
class TrueOrFalseFilter(django_filters.BooleanFilter):
    field_class = TrueOrFalseField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # A plain text input: the boolean widgets turn an unknown value into None before the field sees it.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number (NumberFilter alone takes 1.5 or 1e-5 and finds nothing)."""

    field_class = forms.IntegerField


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Name, date of birth (1980-05-17 or 17/05/1980) or phone number"
    )
    date_of_birth = django_filters.DateFilter()
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    consent_marketing = TrueOrFalseFilter()
    consent_data_sharing = TrueOrFalseFilter()

    class Meta:
        model = Patient
        fields = ["q", "date_of_birth", "consent_marketing", "consent_data_sharing"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        found = selectors.patient_search(query=value, limit=1000)
        return queryset.filter(pk__in=[p.pk for p in found])


def _patient_filter() -> IdFilter:
    # By id, not a choice of patients: the browsable API would render a choice as a list of
    # every patient's name and date of birth.
    return IdFilter(field_name="patient", label="Patient id")


class PrescriptionFilter(django_filters.FilterSet):
    patient = _patient_filter()
    issued_after = django_filters.DateFilter(field_name="issue_date", lookup_expr="gte")
    issued_before = django_filters.DateFilter(field_name="issue_date", lookup_expr="lte")

    class Meta:
        model = SpectaclePrescription
        fields = ["patient", "issued_after", "issued_before"]


class ContactLensPrescriptionFilter(PrescriptionFilter):
    class Meta:
        model = ContactLensPrescription
        fields = ["patient", "replacement", "issued_after", "issued_before"]


class ProductFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    lens_type = django_filters.ChoiceFilter(choices=LensType.choices)
    low_stock = TrueOrFalseFilter(method="filter_low_stock", label="At or below reorder level")
    brand = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Product
        fields = ["category", "lens_type", "brand", "supplier", "lens_index", "is_active", "low_stock"]

    def filter_low_stock(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        low = queryset.filter(quantity_on_hand__lte=F("reorder_level"))
        return low if value else queryset.exclude(pk__in=low.values("pk"))


class StockMovementFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = StockMovement
        fields = ["product", "sku", "kind", "after", "before"]


class SaleFilter(django_filters.FilterSet):
    patient = _patient_filter()
    date_after = django_filters.DateFilter(field_name="sale_date", lookup_expr="gte")
    date_before = django_filters.DateFilter(field_name="sale_date", lookup_expr="lte")

    class Meta:
        model = Sale
        fields = ["status", "patient", "staff", "date_after", "date_before"]


class LabJobFilter(django_filters.FilterSet):
    patient = _patient_filter()

    class Meta:
        model = LabJob
        fields = ["status", "patient", "sale", "lab_name"]


class RecallFilter(django_filters.FilterSet):
    patient = _patient_filter()
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = Recall
        fields = ["patient", "kind", "status", "due_after", "due_before"]


class AuditEventFilter(django_filters.FilterSet):
    patient = IdFilter(
        method="touching_patient", label="Events that touched this patient (lists and searches that showed them too)"
    )
    after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    actor = django_filters.CharFilter(field_name="actor_username")

    class Meta:
        model = AuditEvent
        fields = ["patient", "action", "actor", "after", "before"]

    def touching_patient(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        return queryset & selectors.audit_events_for_patient(patient_id=int(value))
