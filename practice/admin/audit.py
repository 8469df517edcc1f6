from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest

from practice.models import AuditEvent
from practice.roles import VIEW_AUDIT_EVENT

from .common import ReadOnlyMixin, export_csv


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The audit trail: managers (practice.view_audit_event) read it; nobody edits it."""

    list_display = ["created_at", "actor_username", "action", "patient_name", "target_type", "target_repr", "ip"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter), "target_type"]
    search_fields = ["actor_username", "patient_name", "target_repr", "ip"]
    date_hierarchy = "created_at"
    actions = [export_csv]
    fields = [
        "created_at",
        "actor",
        "actor_username",
        "action",
        "patient",
        "patient_name",
        "target_type",
        "target_id",
        "target_repr",
        "ip",
        "detail",
    ]
    readonly_fields = cast(list[str], fields)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_AUDIT_EVENT)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_AUDIT_EVENT) or super().has_module_permission(request)
