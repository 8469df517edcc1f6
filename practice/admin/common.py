from __future__ import annotations

import csv
import inspect
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.text import capfirst, slugify

from practice.models import Patient
from practice.services import audit_event_record, audit_export_record, request_ip

# What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe ("=HYPERLINK(...)" becomes "'=HYPERLINK(...)")."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    # Numbers stay numbers (a refund's -60.00 is a figure, not a formula); only text is neutralised.
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return spreadsheet_text(str(value))


def _cell(modeladmin: admin.ModelAdmin, obj: Any, name: Any) -> Any:
    if callable(name):
        return name(obj)
    if inspect.isfunction(getattr(type(modeladmin), name, None)):
        return getattr(modeladmin, name)(obj)
    value = getattr(obj, name) if name != "__str__" else str(obj)
    if callable(value):
        value = value()
    display = getattr(obj, f"get_{name}_display", None) if isinstance(name, str) else None
    return display() if display is not None else value


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
    """The columns of the list as this user sees them (so no cost price for those who may not),
    with text that a spreadsheet would run as a formula neutralised. Exporting patients' records
    is audited with every patient exported."""
    columns = [c for c in modeladmin.get_list_display(request) if c != "action_checkbox"]
    name = slugify(modeladmin.model._meta.verbose_name_plural)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.localdate():%Y-%m-%d}.csv"'
    writer = csv.writer(response)
    writer.writerow([spreadsheet_text(capfirst(_header(modeladmin, c))) for c in columns])
    rows = list(queryset)
    for obj in rows:
        writer.writerow([_csv_value(_cell(modeladmin, obj, c)) for c in columns])
    detail = {"model": modeladmin.model._meta.label, "rows": len(rows), "via": "admin"}
    if isinstance(modeladmin, PatientAuditMixin):
        audit_export_record(
            actor=request.user, patient_ids=modeladmin.shown_patient_ids(rows), ip=request_ip(request), detail=detail
        )
    elif hasattr(modeladmin.model, "patient"):
        audit_event_record(actor=request.user, action="export", ip=request_ip(request), detail=detail)
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


def _deletion_confirmed(request: HttpRequest) -> bool:
    # The delete view deletes on any POST; the "delete selected" action only once "post" is sent.
    if request.method != "POST":
        return False
    return bool(request.POST.get("post")) or "action" not in request.POST


class PatientAuditMixin:
    """Audit every page of this admin that shows a patient's record: the record itself (change,
    history and delete confirmation pages), lists with or without a search, filters, paging or
    "show all", the autocomplete that other forms ask for these records, exports, and changes.

    ``patient_field`` names the foreign key to the patient whose record an object belongs to
    (None: the object is the patient)."""

    patient_field: str | None = "patient"

    def audit_patient(self, obj: Any) -> Patient | None:
        # An inline's record (a prescription saved from the patient's page) names its patient.
        if isinstance(obj, Patient):
            return obj
        return getattr(obj, self.patient_field or "patient", None)

    def shown_patient_ids(self, objects: Iterable[Any]) -> list[int]:
        """The patients whose records ``objects`` are (no query: ids, not rows)."""
        attribute = "pk" if self.patient_field is None else f"{self.patient_field}_id"
        return [pk for pk in (getattr(obj, attribute) for obj in objects) if pk is not None]

    def _audit(self, request: HttpRequest, action: str, obj: Any, **detail: Any) -> None:
        audit_event_record(
            actor=request.user,
            action=action,
            patient=self.audit_patient(obj),
            target=obj,
            ip=request_ip(request),
            detail={"via": "admin", **detail},
        )

    def _audit_shown(self, request: HttpRequest, action: str, objects: Iterable[Any], **detail: Any) -> None:
        audit_event_record(
            actor=request.user,
            action=action,
            patient_ids=self.shown_patient_ids(objects),
            ip=request_ip(request),
            detail={"via": "admin", "model": self.model._meta.label, **detail},  # type: ignore[attr-defined]
        )

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None):  # type: ignore[no-untyped-def]
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        if request.method == "GET" and getattr(response, "status_code", 500) == 200:
            obj = self.get_object(request, object_id)  # type: ignore[attr-defined]
            if obj is not None:
                self._audit(request, "view", obj)
        return response

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None):  # type: ignore[no-untyped-def]
        response = super().add_view(request, form_url, extra_context)  # type: ignore[misc]
        # "Add prescription" from a patient's page arrives with ?patient=<id> and shows their name.
        if self.patient_field and request.method == "GET" and getattr(response, "status_code", 500) == 200:
            value = str(self.get_changeform_initial_data(request).get(self.patient_field) or "")  # type: ignore[attr-defined]
            patient = Patient.objects.filter(pk=int(value)).first() if value.isdigit() else None
            if patient is not None:
                audit_event_record(
                    actor=request.user,
                    action="view",
                    patient=patient,
                    target=patient,
                    ip=request_ip(request),
                    detail={"via": "admin", "page": "add", "model": self.model._meta.label},  # type: ignore[attr-defined]
                )
        return response

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None):  # type: ignore[no-untyped-def]
        from django.contrib.admin.utils import unquote

        response = super().history_view(request, object_id, extra_context)  # type: ignore[misc]
        if getattr(response, "status_code", 500) == 200:
            obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            if obj is not None:
                self._audit(request, "view", obj, page="history")
        return response

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Called for the delete view and the "delete selected" action alike: the confirmation
        # page lists the records (and everything of theirs that would go with them).
        result = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        if not _deletion_confirmed(request):
            objects = list(objs)
            if len(objects) == 1:
                self._audit(request, "view", objects[0], page="delete_confirmation")
            else:
                self._audit_shown(request, "list", objects, page="delete_confirmation")
        return result

    def changelist_view(self, request: HttpRequest, extra_context: Any = None):  # type: ignore[no-untyped-def]
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        cl = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and getattr(response, "status_code", 500) == 200 and cl is not None:
            # Evaluating the page here fills the queryset's cache: the template reuses it.
            shown = list(cl.result_list)
            self._audit_shown(
                request,
                "search" if cl.query else "list",
                shown,
                page="changelist",
                query=cl.query,
                params={key: value for key, value in request.GET.items() if key != "q"},
                results=cl.result_count,
                page_number=cl.page_num,
                show_all=bool(cl.show_all),
            )
        return response

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> Any:
        paginator_class = self.paginator  # type: ignore[attr-defined]
        match = getattr(request, "resolver_match", None)
        if match is None or match.url_name != "autocomplete":
            return paginator_class(queryset, per_page, orphans, allow_empty_first_page)
        # The admin's autocomplete (a form's search box for a patient or a prescription) pages
        # through this admin's records; each page it answers with is audited.
        model_admin = self

        class AuditedAutocompletePages(paginator_class):  # type: ignore[misc, valid-type]
            def page(self, number: Any) -> Any:
                page = super().page(number)
                page.object_list = list(page.object_list)
                term = request.GET.get("term", "").strip()
                model_admin._audit_shown(
                    request,
                    "search" if term else "list",
                    page.object_list,
                    page="autocomplete",
                    query=term,
                    field=".".join(request.GET.get(key, "") for key in ("app_label", "model_name", "field_name")),
                    page_number=page.number,
                )
                return page

        return AuditedAutocompletePages(queryset, per_page, orphans, allow_empty_first_page)

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
