from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from practice import selectors
from practice.models import ContactLensPrescription, Patient, Recall, Sale, SpectaclePrescription
from practice.roles import VIEW_AUDIT_EVENT

from .common import PatientAuditMixin, ReadOnlyMixin, export_csv

EYE_FIELDS = ("sphere", "cylinder", "axis", "add", "intermediate_add", "prism", "prism_base", "pd")


def spectacle_fieldsets(*, with_patient: bool) -> list:
    return [
        (
            None,
            {
                "fields": [
                    *(["patient"] if with_patient else []),
                    ("issue_date", "expiry_date"),
                    ("issued_by", "prescriber_name"),
                    "rendered",
                ]
            },
        ),
        (
            "Right eye (OD)",
            {
                "fields": [
                    ("right_sphere", "right_cylinder", "right_axis"),
                    ("right_add", "right_intermediate_add"),
                    ("right_prism", "right_prism_base"),
                    "right_pd",
                ]
            },
        ),
        (
            "Left eye (OS)",
            {
                "fields": [
                    ("left_sphere", "left_cylinder", "left_axis"),
                    ("left_add", "left_intermediate_add"),
                    ("left_prism", "left_prism_base"),
                    "left_pd",
                ]
            },
        ),
        ("Both eyes", {"fields": [("binocular_pd", "near_pd", "back_vertex_distance"), "notes"]}),
    ]


def contact_lens_fieldsets(*, with_patient: bool) -> list:
    return [
        (
            None,
            {
                "fields": [
                    *(["patient"] if with_patient else []),
                    ("issue_date", "expiry_date"),
                    "issued_by",
                    ("brand", "material", "replacement"),
                    "rendered",
                ]
            },
        ),
        (
            "Right eye (OD)",
            {
                "fields": [
                    ("right_base_curve", "right_diameter"),
                    ("right_power", "right_cylinder", "right_axis"),
                    "right_add",
                ]
            },
        ),
        (
            "Left eye (OS)",
            {
                "fields": [
                    ("left_base_curve", "left_diameter"),
                    ("left_power", "left_cylinder", "left_axis"),
                    "left_add",
                ]
            },
        ),
        (None, {"fields": ["notes"]}),
    ]


class RenderedMixin:
    @admin.display(description="As written")
    def rendered(self, obj: Any) -> str:
        return obj.render() if obj and obj.pk else "—"


class _PrescriptionInline(RenderedMixin, admin.StackedInline):
    extra = 0
    readonly_fields = ["rendered"]
    show_change_link = True
    classes = ["collapse"]


class SpectaclePrescriptionInline(_PrescriptionInline):
    model = SpectaclePrescription
    fieldsets = spectacle_fieldsets(with_patient=False)


class ContactLensPrescriptionInline(_PrescriptionInline):
    model = ContactLensPrescription
    fieldsets = contact_lens_fieldsets(with_patient=False)


class RecallInline(admin.TabularInline):
    model = Recall
    extra = 0
    fields = ["kind", "due_date", "status", "notes"]


class SaleInline(ReadOnlyMixin, admin.TabularInline):
    model = Sale
    fk_name = "patient"
    extra = 0
    fields = ["reference", "sale_date", "status", "total", "amount_paid"]
    readonly_fields = cast(list[str], fields)
    show_change_link = True
    ordering = ["-created_at"]


@admin.register(Patient)
class PatientAdmin(PatientAuditMixin, admin.ModelAdmin):
    patient_field = None
    list_display = ["last_name", "first_name", "dob", "phone", "email", "latest_prescription", "updated_at"]
    list_display_links = ["last_name", "first_name"]
    search_fields = ["first_name", "last_name", "phone", "phone_digits", "email", "postcode"]
    search_help_text = "Name, date of birth (1980-05-17 or 17/05/1980), phone or email."
    list_filter = ["consent_marketing", "consent_data_sharing", ("created_at", admin.DateFieldListFilter)]
    actions = [export_csv]
    inlines = [SpectaclePrescriptionInline, ContactLensPrescriptionInline, RecallInline, SaleInline]
    fieldsets = [
        (None, {"fields": [("first_name", "last_name"), "date_of_birth"]}),
        ("Prescriptions", {"fields": ["prescription_history"]}),
        ("Contact", {"fields": [("phone", "email"), "address", "postcode"]}),
        ("Consent", {"fields": [("consent_marketing", "consent_data_sharing")]}),
        (None, {"fields": ["notes", ("created_at", "updated_at")]}),
    ]
    readonly_fields = ["created_at", "updated_at", "prescription_history"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 80})}}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and request.user.has_perm(VIEW_AUDIT_EVENT):
            fieldsets.append(("Audit", {"fields": ["audit_trail"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), "audit_trail"]

    @admin.display(description="who looked at this record")
    def audit_trail(self, obj: Patient) -> str:
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:practice_auditevent_changelist") + f"?patient={obj.pk}"
        return format_html('<a href="{}">Audit trail: every read, list, search and change</a>', url)

    @admin.display(description="history (latest first)")
    def prescription_history(self, obj: Patient) -> str:
        if obj is None or obj.pk is None:
            return "—"
        rows = [
            (rx.issue_date, "Spectacles", rx.render(), rx.prescriber_name, rx.expiry_date)
            for rx in obj.spectacle_prescriptions.all()
        ] + [
            (rx.issue_date, "Contact lenses", rx.render(), "", rx.expiry_date)
            for rx in obj.contact_lens_prescriptions.all()
        ]
        if not rows:
            return "No prescriptions yet."
        today = timezone.localdate()
        return format_html(
            "<table><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{issued:%d/%m/%Y}",
                        kind,
                        text,
                        who,
                        "expired" if expiry < today else f"valid to {expiry:%d/%m/%Y}",
                    )
                    for issued, kind, text, who, expiry in sorted(rows, key=lambda row: row[0], reverse=True)
                ),
            ),
        )

    @admin.display(description="date of birth", ordering="date_of_birth")
    def dob(self, obj: Patient) -> str:
        return f"{obj.date_of_birth:%d/%m/%Y}"

    @admin.display(description="latest prescription")
    def latest_prescription(self, obj: Patient) -> str:
        latest = getattr(obj, "_latest_rx", None)
        return latest.render() if latest else "—"

    def get_results_rx(self, patients: list[Patient]) -> None:
        latest: dict[int, SpectaclePrescription] = {}
        for rx in SpectaclePrescription.objects.filter(patient__in=patients).order_by(
            "patient_id", "-issue_date", "-id"
        ):
            latest.setdefault(rx.patient_id, rx)
        for patient in patients:
            patient._latest_rx = latest.get(patient.pk)  # type: ignore[attr-defined]

    def get_changelist(self, request: HttpRequest, **kwargs: Any):  # type: ignore[no-untyped-def]
        base = super().get_changelist(request, **kwargs)
        admin_ = self

        class ChangeList(base):  # type: ignore[misc, valid-type]
            def get_results(self, request: HttpRequest) -> None:
                super().get_results(request)
                admin_.get_results_rx(list(self.result_list))

        return ChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Dates of birth and phone numbers in the forms staff type them; names as usual.
        found = selectors.patient_search(query=term, limit=10_000)
        if found:
            return queryset.filter(pk__in=[p.pk for p in found]), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(SpectaclePrescription)
class SpectaclePrescriptionAdmin(PatientAuditMixin, RenderedMixin, admin.ModelAdmin):
    list_display = ["patient", "issue_date", "rendered", "expiry_date", "prescriber"]
    list_select_related = ["patient", "issued_by"]
    search_fields = ["patient__first_name", "patient__last_name", "prescriber_name"]
    list_filter = [("issue_date", admin.DateFieldListFilter), ("expiry_date", admin.DateFieldListFilter)]
    date_hierarchy = "issue_date"
    autocomplete_fields = ["patient"]
    fieldsets = spectacle_fieldsets(with_patient=True)
    readonly_fields = ["rendered"]
    actions = [export_csv]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("patient")

    @admin.display(description="issued by")
    def prescriber(self, obj: SpectaclePrescription) -> str:
        return obj.prescriber_name or (
            obj.issued_by.get_full_name() or obj.issued_by.get_username() if obj.issued_by else ""
        )


@admin.register(ContactLensPrescription)
class ContactLensPrescriptionAdmin(PatientAuditMixin, RenderedMixin, admin.ModelAdmin):
    list_display = ["patient", "issue_date", "rendered", "expiry_date", "replacement"]
    list_select_related = ["patient"]
    search_fields = ["patient__first_name", "patient__last_name", "brand"]
    list_filter = ["replacement", ("issue_date", admin.DateFieldListFilter)]
    autocomplete_fields = ["patient"]
    fieldsets = contact_lens_fieldsets(with_patient=True)
    readonly_fields = ["rendered"]
    actions = [export_csv]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("patient")
