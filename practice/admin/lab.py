from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from practice.models import LabJob, LabJobStatus
from practice.services import lab_job_advance, lab_job_transition

from .common import PatientAuditMixin, export_csv


@admin.register(LabJob)
class LabJobAdmin(PatientAuditMixin, admin.ModelAdmin):
    """Status changes only through the actions, which follow the lab-job rules."""

    list_display = [
        "reference",
        "patient",
        "status",
        "lab_name",
        "frame",
        "lens",
        "ordered_at",
        "sent_at",
        "ready_at",
        "collected_at",
        "remake_count",
    ]
    list_select_related = ["patient", "frame", "lens"]
    list_filter = [
        "status",
        "lab_name",
        ("ordered_at", admin.DateFieldListFilter),
        ("ready_at", admin.DateFieldListFilter),
    ]
    search_fields = ["reference", "sale__reference", "patient__first_name", "patient__last_name"]
    date_hierarchy = "ordered_at"
    actions = ["advance", "mark_remake", "cancel", export_csv]
    fields = [
        ("reference", "status"),
        ("sale", "patient"),
        "prescription_rendered",
        ("frame", "lens"),
        "lab_name",
        ("ordered_at", "sent_at", "ready_at"),
        ("collected_at", "cancelled_at", "remake_at", "remake_count"),
        "notes",
    ]
    # Staff type in only the lab's name and notes; the status and its times move by the actions.
    readonly_fields = [name for name in flatten(fields) if name not in ("lab_name", "notes")]

    @admin.display(description="prescription")
    def prescription_rendered(self, obj: LabJob) -> str:
        return obj.prescription.render() if obj.prescription_id else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # lab jobs are opened by completing a sale with spectacle lenses

    def _step(self, request: HttpRequest, queryset: QuerySet[LabJob], move: Callable[..., LabJob], verb: str) -> None:
        done = 0
        for job in queryset.order_by("pk"):
            try:
                moved = move(job=job)
                self._audit(request, "change", moved, status=moved.status)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{job.reference}: {'; '.join(exc.messages)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} lab job(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Advance to the next step (ordered → at lab → ready → collected)", permissions=["change"])
    def advance(self, request: HttpRequest, queryset: QuerySet[LabJob]) -> None:
        self._step(request, queryset, lab_job_advance, "advanced")

    @admin.action(description="Send back for a remake", permissions=["change"])
    def mark_remake(self, request: HttpRequest, queryset: QuerySet[LabJob]) -> None:
        self._step(request, queryset, partial(lab_job_transition, status=LabJobStatus.REMAKE), "sent for remake")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[LabJob]) -> None:
        self._step(request, queryset, partial(lab_job_transition, status=LabJobStatus.CANCELLED), "cancelled")
