"""Admin for the model registry: register a GGUF, activate a version, roll back."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from assistant.models import ModelActivation, ModelVersion
from assistant.registry.services import (
    model_path_roots,
    model_version_activate,
    model_version_register,
    model_version_rollback,
)


def _register_from(data: dict[str, Any], **extra: Any) -> ModelVersion:
    return model_version_register(
        name=data.get("name", ""),
        path=data.get("path") or None,
        role=data.get("role", "chat"),
        chat_format=data.get("chat_format") or None,
        lora_path=data.get("lora_path") or None,
        lora_scale=data.get("lora_scale", 1.0),
        base=data.get("base"),
        backend=data.get("backend", "local"),
        base_url=data.get("base_url") or None,
        n_ctx=data.get("n_ctx", 2048),
        n_gpu_layers=data.get("n_gpu_layers", 0),
        n_threads=data.get("n_threads"),
        confine_to=model_path_roots(),
        **extra,
    )


class ModelVersionAddForm(forms.ModelForm):
    """Checks a new version with the service's rules (the GGUF, its chat template, the LoRA)
    inside a transaction that is rolled back, so the form shows each error on its field."""

    base_url = forms.URLField(
        required=False, assume_scheme="https", help_text=ModelVersion._meta.get_field("base_url").help_text
    )

    class Meta:
        model = ModelVersion
        fields = [
            "name",
            "role",
            "backend",
            "base_url",
            "path",
            "chat_format",
            "lora_path",
            "lora_scale",
            "base",
            "n_ctx",
            "n_gpu_layers",
            "n_threads",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        if not self.errors:
            try:
                with transaction.atomic():
                    _register_from(data)
                    transaction.set_rollback(True)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "role",
        "status",
        "backend",
        "chat_format",
        "lora_path",
        "size_bytes",
        "evaluation_summary",
        "created_at",
        "activated_at",
    ]
    list_filter = ["role", "status", "backend"]
    search_fields = ["name", "path"]
    readonly_fields = [
        "size_bytes",
        "sha256",
        "has_chat_template",
        "lora_sha256",
        "status",
        "evaluation",
        "created_by",
        "created_at",
        "activated_at",
    ]
    actions = ["activate_selected", "roll_back", "roll_back_router"]

    @admin.display(description="evaluation")
    def evaluation_summary(self, obj: ModelVersion) -> str:
        """A router's exactness and wrong figures on the held-out splits (``evaluate_router``)."""
        splits = (obj.evaluation or {}).get("splits") or {}
        parts = []
        for split, columns in splits.items():
            figures = columns.get("router then parser") or {}
            if figures:
                parts.append(
                    f"{split}: {100 * figures['exactness']:.1f}% exact, {figures['wrong']} wrong "
                    f"(parser {100 * columns['parser']['exactness']:.1f}%)"
                )
        return "; ".join(parts) or "-"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        from assistant.registry.selectors import active_model

        router = active_model(role="router")
        in_use = (
            f"Router in use: {router.name} ({self.evaluation_summary(router)})"
            if router is not None
            else "No router is active: the question parser reads data questions."
        )
        self.message_user(request, in_use, messages.INFO)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("assistant.manage_model_versions")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A registered file is immutable: register a new version instead of editing one.
        return obj is None and request.user.has_perm("assistant.manage_model_versions")

    def save_model(self, request: HttpRequest, obj: ModelVersion, form: Any, change: bool) -> None:
        # Registration goes through the service: it checks the GGUF and computes size and SHA-256.
        version = _register_from(form.cleaned_data, created_by=request.user)
        obj.pk = version.pk
        obj.refresh_from_db()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ModelVersionAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.action(description="Activate (inference workers swap to it without a restart)", permissions=["manage"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            version = model_version_activate(model_version=queryset.get(), user=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"{version.name} is now the active {version.role} model.")

    @admin.action(description="Roll back to the previously active chat model", permissions=["manage"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        try:
            version = model_version_rollback(role="chat", user=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        assert version is not None  # only a router can be switched off
        self.message_user(request, f"Rolled back: {version.name} is active again.")

    @admin.action(description="Roll back the router (the first one: switch it off)", permissions=["manage"])
    def roll_back_router(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        try:
            version = model_version_rollback(role="router", user=request.user)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        if version is None:
            self.message_user(request, "Router switched off: the question parser reads data questions again.")
        else:
            self.message_user(request, f"Rolled back: {version.name} is the router again.")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("assistant.manage_model_versions")


@admin.register(ModelActivation)
class ModelActivationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "role", "action", "model_version", "previous", "user", "rolled_back_at"]
    list_filter = ["role", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
