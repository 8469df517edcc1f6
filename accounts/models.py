from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A Bearer token for REST and OpenAI-compatible clients.

    Only a SHA-256 of the key is stored; the key itself is shown once, when created.
    ``prefix`` (the first characters) identifies a key in the admin without revealing it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user}, {self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
