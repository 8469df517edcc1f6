"""Readiness check for /readyz (settings.OPTIQ_READINESS_CHECKS): the active chat model's file is present."""

from __future__ import annotations

from pathlib import Path

from django.db import DatabaseError

from optiq_site.health import ReadinessCheck


def check_active_model() -> ReadinessCheck:
    from assistant.registry.selectors import active_model

    try:
        version = active_model(role="chat")
    except DatabaseError as exc:
        return ReadinessCheck("model", False, f"cannot read the model registry: {exc}")
    if version is None:
        # Not required: the platform serves everything else; the assistant waits for a model.
        return ReadinessCheck(
            "model",
            False,
            "no active chat model: run `python manage.py register_default_model` or `register_model`",
            required=False,
        )
    if version.backend == "external":
        return ReadinessCheck("model", True, f"{version.name} via {version.base_url}")
    if not Path(version.path).is_file():
        return ReadinessCheck(
            "model", False, f"{version.name}: {version.path} is missing (see `manage.py verify_model`)"
        )
    if version.lora_path and not Path(version.lora_path).is_file():
        return ReadinessCheck("model", False, f"{version.name}: adapter {version.lora_path} is missing")
    return ReadinessCheck("model", True, f"{version.name} ({version.path})")
