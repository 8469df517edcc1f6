from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from practice.models import Recall, RecallStatus
from practice.selectors import RECALL_DUE_WINDOW_DAYS
from practice.services import recall_set_status

from .common import PatientAuditMixin, export_csv


class DueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("overdue", "Overdue"), ("due", f"Due within {RECALL_DUE_WINDOW_DAYS} days"), ("later", "Later")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        soon = today + timedelta(days=RECALL_DUE_WINDOW_DAYS)
        pending = queryset.filter(status=RecallStatus.PENDING)
        if self.value() == "overdue":
            return pending.filter(due_date__lt=today)
        if self.value() == "due":
            return pending.filter(due_date__gte=today, due_date__lte=soon)
        if self.value() == "later":
            return queryset.filter(due_date__gt=soon)
        return queryset


@admin.register(Recall)
class RecallAdmin(PatientAuditMixin, admin.ModelAdmin):
    list_display = ["patient", "phone", "kind", "due_date", "overdue", "status", "last_contacted_at"]
    list_select_related = ["patient"]
    list_filter = [DueFilter, "kind", "status", ("due_date", admin.DateFieldListFilter)]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    date_hierarchy = "due_date"
    autocomplete_fields = ["patient"]
    actions = [export_csv, "mark_booked", "mark_done"]

    @admin.display(description="phone")
    def phone(self, obj: Recall) -> str:
        return obj.patient.phone

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj: Recall) -> bool:
        return obj.status == RecallStatus.PENDING and obj.due_date < timezone.localdate()

    @admin.action(description="Mark as booked", permissions=["change"])
    def mark_booked(self, request: HttpRequest, queryset: QuerySet[Recall]) -> None:
        self._set_status(request, queryset, RecallStatus.BOOKED)

    @admin.action(description="Mark as done", permissions=["change"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[Recall]) -> None:
        self._set_status(request, queryset, RecallStatus.DONE)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Recall], status: str) -> None:
        for recall in queryset.select_related("patient"):
            recall_set_status(recall=recall, status=status)
            self._audit(request, "change", recall, status=status)
