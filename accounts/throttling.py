"""Request rate limits, per user and per API key, on the REST API and /v1.

Rates come from settings.OPTIQ_THROTTLE_RATES (OPTIQ_THROTTLE_* in the environment), read on
every request so that a deployment, a test or a load benchmark can set its own. Counts live in
the default cache (the broker's Valkey, shared by every web process); when the cache cannot be
reached a request is let through and a warning logged, because a rate limit must not take the
practice's API down with the cache; for the next CACHE_RETRY_S seconds requests do not wait on
the cache again (each try costs the broker timeout), so a hung broker costs one request that
wait, not every request of every client.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiKey

logger = logging.getLogger(__name__)

CACHE_RETRY_S = 10.0
_cache_down_until = 0.0  # time.monotonic() before which the cache is not tried


class _ConfiguredRateThrottle(SimpleRateThrottle):
    def __init__(self) -> None:  # DRF's reads the rate at class definition; ours at each request
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        return settings.OPTIQ_THROTTLE_RATES.get(self.scope or "") or None

    def allow_request(self, request: Any, view: Any) -> bool:
        global _cache_down_until
        if self.rate is None or time.monotonic() < _cache_down_until:
            return True
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache is down: see the module docstring
            _cache_down_until = time.monotonic() + CACHE_RETRY_S
            logger.warning(
                "Rate limits not applied for %.0f s: the cache is unreachable (%s: %s)",
                CACHE_RETRY_S,
                type(exc).__name__,
                exc,
            )
            return True


class UserRateThrottle(_ConfiguredRateThrottle):
    """Every request of one signed-in user, by session or by any of their keys."""

    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiKeyRateThrottle(_ConfiguredRateThrottle):
    """Every request made with one API key."""

    scope = "api_key"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class AnonymousRateThrottle(_ConfiguredRateThrottle):
    """Requests without a login, per client address."""

    scope = "anonymous"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


THROTTLES = (UserRateThrottle, ApiKeyRateThrottle)


class _PlainRequest:
    """What the throttles read of a request, for the plain Django views of /v1."""

    def __init__(self, request: Any, user: Any, key: ApiKey) -> None:
        self.user, self.auth, self.META = user, key, request.META


def throttle_wait(request: Any, *, user: Any, key: ApiKey) -> float | None:
    """Seconds the client must wait when a rate is exceeded, else None (for /v1, outside DRF)."""
    plain = _PlainRequest(request, user, key)
    waits = []
    for throttle_class in THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(plain, None):
            waits.append(throttle.wait() or 1.0)
    return max(waits) if waits else None
