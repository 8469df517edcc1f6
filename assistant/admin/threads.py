"""Admin for assistant threads and feedback (training_jobs adds the action that makes feedback a
draft training example)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread
from assistant.threads import PATIENT_PERMISSION


class MessageInline(admin.TabularInline):
    model = AssistantMessage
    fields = readonly_fields = ("role", "kind", "content", "planner", "created_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _hide_patient_data(request: HttpRequest, queryset: QuerySet) -> QuerySet:
    if request.user.has_perm(PATIENT_PERMISSION):
        return queryset
    return queryset.filter(touched_patient_data=False)


@admin.register(AssistantThread)
class AssistantThreadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "touched_patient_data", "updated_at"]
    list_filter = ["touched_patient_data"]
    readonly_fields = ["user", "touched_patient_data", "created_at", "updated_at"]
    inlines = [MessageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _hide_patient_data(request, super().get_queryset(request))


@admin.register(AssistantMessage)
class AssistantMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "role", "kind", "planner", "created_at"]
    list_filter = ["role", "kind", "planner"]
    readonly_fields = [
        "thread",
        "role",
        "kind",
        "content",
        "sources",
        "tool_calls",
        "touched_patient_data",
        "model_name",
        "planner",
        "usage",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _hide_patient_data(request, super().get_queryset(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AssistantFeedback)
class AssistantFeedbackAdmin(admin.ModelAdmin):
    list_display = ["id", "message", "user", "rating", "has_correction", "training_example_id", "created_at"]
    list_filter = ["rating"]
    readonly_fields = ["message", "user", "training_example_id", "created_at"]

    @admin.display(boolean=True, description="corrected")
    def has_correction(self, feedback: AssistantFeedback) -> bool:
        return bool(feedback.corrected_answer.strip())

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("message")
        if request.user.has_perm(PATIENT_PERMISSION):
            return queryset
        return queryset.filter(message__touched_patient_data=False)
