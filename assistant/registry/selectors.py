"""Reads of the model registry."""

from __future__ import annotations

from django.db.models import QuerySet

from assistant.models import ModelVersion

# Names that always mean "the active chat model": clients that keep using one of these follow
# every activation (a fine-tuned model replaces the base one without reconfiguring clients).
ACTIVE_ALIASES = frozenset({"optiq", "default", "active"})


def active_model(*, role: str = "chat") -> ModelVersion | None:
    return ModelVersion.objects.filter(role=role, status=ModelVersion.Status.ACTIVE).first()


def model_by_name(name: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(name=name).first()


def model_version_list(*, role: str | None = None) -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.select_related("base", "created_by")
    if role:
        versions = versions.filter(role=role)
    return versions


def model_for_request(name: str | None, *, role: str = "chat") -> ModelVersion | None:
    """The version a request's `model` names: an alias or nothing means the active one."""
    if not name or name in ACTIVE_ALIASES:
        return active_model(role=role)
    version = model_by_name(name)
    if version is None or version.role != role:
        return None
    return version
