from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from practice import selectors
from practice.models import AuditEvent, Patient
from practice.roles import VIEW_AUDIT_EVENT

from .common import ReadOnlyMixin, export_csv


class PatientFilter(admin.SimpleListFilter):
    """?patient=<id>: every event that touched the patient, lists and searches that showed them
    included (the patient's page links here)."""

    title = "patient"
    parameter_name = "patient"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        if not (value and value.isdigit()):
            return []
        patient = Patient.objects.filter(pk=int(value)).first()
        # A deleted patient's history stays (events keep plain ids).
        return [(value, str(patient) if patient is not None else f"patient {value} (deleted)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset & selectors.audit_events_for_patient(patient_id=int(value))

    def has_output(self) -> bool:
        # Shown only once a patient is chosen (from their page): a list of every patient would be a read of them all.
        return bool(self.value())


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail: managers (practice.view_audit_event) read it; nobody edits it."""

    list_display = [
        "created_at",
        "actor_username",
        "action",
        "patients",
        "channel",
        "target_repr",
        "ip",
    ]
    list_filter = [PatientFilter, "action", ("created_at", admin.DateFieldListFilter), "target_type"]
    search_fields = ["actor_username", "patient_name", "target_repr", "ip"]
    search_help_text = "A user, a patient's name (lists and searches that showed them too), a record or an address."
    date_hierarchy = "created_at"
    actions = [export_csv]
    fields = [
        "created_at",
        "actor",
        "actor_username",
        "action",
        "patient",
        "patient_name",
        "patient_ids",
        "patient_ids_truncated",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
        "detail",
    ]
    readonly_fields = cast(list[str], fields)

    @admin.display(description="patient(s)")
    def patients(self, obj: AuditEvent) -> str:
        if obj.patient_name:
            return obj.patient_name
        count = (
            obj.detail.get("patients_shown", len(obj.patient_ids))
            if obj.patient_ids_truncated
            else len(obj.patient_ids)
        )
        return f"{count} patient{'s' if count != 1 else ''} shown" if count else ""

    @admin.display(description="where")
    def channel(self, obj: AuditEvent) -> str:
        # e.g. "admin · autocomplete · practice.sale.patient" or "api · practice.LabJob".
        detail = obj.detail if isinstance(obj.detail, dict) else {}
        parts = [detail.get("via"), detail.get("page"), detail.get("field") or detail.get("model") or obj.target_type]
        return " · ".join(str(part) for part in parts if part)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        found, use_distinct = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        named = selectors.patient_search(query=term, limit=200) if term else []
        if not named:
            return found, use_distinct
        # A name also finds the lists and searches that showed that patient among others.
        shown = queryset & selectors.audit_events_for_patients(patient_ids=[p.pk for p in named])
        return found | shown, use_distinct

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_AUDIT_EVENT)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_AUDIT_EVENT) or super().has_module_permission(request)
