from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_hash


def api_key_user(*, raw_key: str):  # type: ignore[no-untyped-def]
    """The active user owning ``raw_key``, or None. Marks the key as used (at most once a minute)."""
    key = api_key_lookup(raw_key=raw_key)
    return key.user if key is not None else None


def api_key_lookup(*, raw_key: str) -> ApiKey | None:
    """The active key ``raw_key`` is (its user loaded), or None. Marks it as used (at most once a minute)."""
    key = (
        ApiKey.objects.select_related("user")
        .filter(key_hash=api_key_hash(raw_key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
