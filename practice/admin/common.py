from __future__ import annotations

import csv
import inspect
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.text import capfirst, slugify

from practice.models import Patient
from practice.services import audit_event_record, request_ip


def _cell(modeladmin: admin.ModelAdmin, obj: Any, name: Any) -> str:
    if callable(name):
        value = name(obj)
    elif inspect.isfunction(getattr(type(modeladmin), name, None)):
        value = getattr(modeladmin, name)(obj)
    else:
        value = getattr(obj, name) if name != "__str__" else str(obj)
        if callable(value):
            value = value()
        display = getattr(obj, f"get_{name}_display", None) if isinstance(name, str) else None
        if display is not None:
            value = display()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _header(modeladmin: admin.ModelAdmin, name: Any) -> str:
    if callable(name):
        return str(getattr(name, "short_description", name.__name__))
    if name == "__str__":
        return str(modeladmin.model._meta.verbose_name)
    attr = getattr(type(modeladmin), name, None)
    if inspect.isfunction(attr) and hasattr(attr, "short_description"):
        return str(attr.short_description)
    try:
        return str(modeladmin.model._meta.get_field(name).verbose_name)
    except Exception:
        return name.replace("_", " ")


@admin.action(description="Export selected to CSV")
def export_csv(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
    """The columns of the list as this user sees them (so no cost price for those who may not)."""
    columns = [c for c in modeladmin.get_list_display(request) if c != "action_checkbox"]
    name = slugify(modeladmin.model._meta.verbose_name_plural)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerow([capfirst(_header(modeladmin, c)) for c in columns])
    count = 0
    for obj in queryset:
        writer.writerow([_cell(modeladmin, obj, c) for c in columns])
        count += 1
    if modeladmin.model is Patient or hasattr(modeladmin.model, "patient"):
        audit_event_record(
            actor=request.user,
            action="export",
            ip=request_ip(request),
            detail={"model": modeladmin.model._meta.label, "rows": count, "via": "admin"},
        )
    return response


class ReadOnlyMixin:
    """For records only their services write (the stock ledger, the audit trail, the report
    rollup, and sales or lab jobs seen from another record): shown here, never added, changed
    or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PatientAuditMixin:
    """Audit every read and change of a patient's record made through this admin.

    ``audit_patient`` maps an object to the patient whose record it belongs to."""

    audit_patient: Callable[[Any], Patient | None] = staticmethod(lambda obj: None)  # type: ignore[assignment]

    def _audit(self, request: HttpRequest, action: str, obj: Any, **detail: Any) -> None:
        audit_event_record(
            actor=request.user,
            action=action,
            patient=self.audit_patient(obj),
            target=obj,
            ip=request_ip(request),
            detail={"via": "admin", **detail},
        )

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None):  # type: ignore[no-untyped-def]
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if request.method == "GET" and getattr(response, "status_code", 500) == 200:
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
            if obj is not None:
                self._audit(request, "view", obj)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):  # type: ignore[no-untyped-def]
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        query = request.GET.get("q", "").strip()
        if query and getattr(response, "status_code", 500) == 200:
            cl = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
            audit_event_record(
                actor=request.user,
                action="search",
                ip=request_ip(request),
                detail={
                    "via": "admin",
                    "model": self.model._meta.label,  # type: ignore[attr-defined]
                    "query": query,
                    "results": getattr(cl, "result_count", None),
                },
            )
        return response

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self._audit(request, "change" if change else "create", obj, fields=sorted(form.changed_data))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)  # type: ignore[misc]
        for obj in formset.new_objects:
            self._audit(request, "create", obj)
        for obj, fields in formset.changed_objects:
            self._audit(request, "change", obj, fields=sorted(fields))
        for obj in formset.deleted_objects:
            self._audit(request, "delete", obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._audit(request, "delete", obj)
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self._audit(request, "delete", obj)
        super().delete_queryset(request, queryset)  # type: ignore[misc]
