"""A finished job's result into the model registry: register and activate it, or roll back.

A job trained on router examples alone (``assistant.router``) is registered as a router: it
reads data questions for the parser rather than answering chat."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from assistant.models import ModelVersion
from assistant.registry.services import model_version_activate, model_version_register, model_version_rollback
from training_jobs.models import TrainingExample, TrainingJob


def training_job_role(job: TrainingJob) -> str:
    """The registry role of the job's result: "router" when every example it trained on is a
    router example, else "chat"."""
    from assistant.router import ROUTER_CATEGORY

    if not job.example_ids:
        return ModelVersion.Role.CHAT
    categories = set(TrainingExample.objects.filter(pk__in=job.example_ids).values_list("category", flat=True))
    return ModelVersion.Role.ROUTER if categories == {ROUTER_CATEGORY} else ModelVersion.Role.CHAT


ACTIVATE_PERMISSION = "assistant.manage_model_versions"


def require_activation_permission(user: Any) -> None:
    """Activating a model (which every user of the assistant then talks to) stays with those who
    manage model versions; a command run by the operator (no user) may."""
    if user is not None and not user.has_perm(ACTIVATE_PERMISSION):
        raise PermissionDenied(
            "Activating a model needs the permission to manage model versions (ML admins): "
            "train without deploying, and have an ML admin deploy the result."
        )


def training_job_deploy(
    *, job: TrainingJob, user: Any = None, name: str = "", activate: bool = True, use_merged: bool = False
) -> ModelVersion:
    """Register the job's GGUF result as a model version of its role (``training_job_role``)
    and (by default) activate it; the inference workers swap to it before their next request."""
    if activate:
        require_activation_permission(user)
    job.refresh_from_db()
    if job.status != TrainingJob.Status.SUCCEEDED:
        raise ValidationError({"status": "only a succeeded job can be deployed"})
    if job.model_version is not None:
        if activate:
            return model_version_activate(model_version=job.model_version, user=user)
        return job.model_version
    artifacts = job.artifacts or {}
    base_gguf = artifacts.get("base_gguf")
    role = training_job_role(job)
    suffix = "router" if role == ModelVersion.Role.ROUTER else "ft"
    name = name or f"{(job.base_model.name if job.base_model else 'custom')[:80]}-{suffix}-job{job.pk}"
    if use_merged or not base_gguf:
        merged = artifacts.get("merged_gguf")
        if not merged:
            raise ValidationError(
                {
                    "artifacts": "this job has no GGUF to deploy (no base GGUF with a LoRA adapter, "
                    "and no merged GGUF); rerun it with merge_quantized"
                }
            )
        version = model_version_register(
            name=name,
            path=merged,
            role=role,
            chat_format=job.chat_format or None,
            base=job.base_model,
            created_by=user,
            activate=activate,
        )
    else:
        version = model_version_register(
            name=name,
            path=base_gguf,
            lora_path=artifacts["gguf_lora"],
            role=role,
            chat_format=job.chat_format or None,
            base=job.base_model,
            created_by=user,
            activate=activate,
            n_ctx=job.base_model.n_ctx if job.base_model else 2048,
        )
    TrainingJob.objects.filter(pk=job.pk).update(model_version=version)
    return version


def training_job_rollback(*, user: Any = None, role: str = "chat") -> ModelVersion | None:
    """Return the role's model to the version active before the last activation (None: the
    first router was rolled back, so no router is active and the parser reads questions)."""
    require_activation_permission(user)
    return model_version_rollback(role=role, user=user)
