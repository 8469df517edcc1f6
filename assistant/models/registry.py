"""The model registry: every GGUF (or external server) the assistant can answer with.

At most one version per role is active; inference workers follow the active chat version
(and the active router, a LoRA that reads data questions into the structured query) and swap
to a newly activated one between requests, without a restart. The router role may also have no
active version: the question parser then reads every question.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = ["ModelActivation", "ModelVersion"]


class ModelVersion(models.Model):
    class Role(models.TextChoices):
        CHAT = "chat", "Chat"
        EMBEDDING = "embedding", "Embedding"
        ROUTER = "router", "Router (reads data questions into the structured query)"

    class Backend(models.TextChoices):
        LOCAL = "local", "llama-cpp-python on the inference workers"
        EXTERNAL = "external", "External OpenAI-compatible server"

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        ACTIVE = "active", "Active"

    name = models.CharField(max_length=120, unique=True, help_text="The name clients pass as `model`.")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CHAT)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.LOCAL)
    base_url = models.URLField(blank=True, help_text="External backend: the server's OpenAI base URL (…/v1).")
    path = models.CharField(max_length=500, blank=True, help_text="The GGUF file (local backend).")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    has_chat_template = models.BooleanField(default=False, help_text="The GGUF carries tokenizer.chat_template.")
    chat_format = models.CharField(
        max_length=32, blank=True, help_text="Prompt format for GGUFs without a chat template (e.g. gemma)."
    )
    lora_path = models.CharField(max_length=500, blank=True, help_text="Optional LoRA adapter GGUF.")
    lora_sha256 = models.CharField(max_length=64, blank=True)
    lora_scale = models.FloatField(default=1.0)
    base = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="derived",
        help_text="The version this one was fine-tuned from.",
    )
    n_ctx = models.PositiveIntegerField(default=2048, help_text="Context length in tokens.")
    n_gpu_layers = models.IntegerField(default=0)
    n_threads = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: llama.cpp's default.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    evaluation = models.JSONField(
        default=dict, blank=True, help_text="What was measured of this version (a router: its held-out exactness)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_model_versions", "Can register, activate and roll back model versions")]
        constraints = [
            models.UniqueConstraint(
                fields=["role"], condition=Q(status="active"), name="one_active_model_version_per_role"
            ),
            models.CheckConstraint(condition=~Q(backend="local") | ~Q(path=""), name="local_model_version_has_path"),
            models.CheckConstraint(
                condition=~Q(backend="external") | ~Q(base_url=""), name="external_model_version_has_base_url"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def load_key(self) -> tuple[object, ...]:
        """What a worker's loaded Llama depends on: a change in any of these means a reload."""
        return (self.path, self.lora_path, self.lora_scale, self.n_ctx, self.n_gpu_layers, self.n_threads)


class ModelActivation(models.Model):
    """One activation or rollback, kept so rollback can return to the version before."""

    class Action(models.TextChoices):
        ACTIVATE = "activate", "Activate"
        ROLLBACK = "rollback", "Roll back"
        # A rollback past the first router: no router is active, the parser reads the questions.
        DEACTIVATE = "deactivate", "Switch off"

    role = models.CharField(max_length=16, choices=ModelVersion.Role.choices)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="activations")
    previous = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.ACTIVATE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.model_version.name}"
