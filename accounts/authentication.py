"""`Authorization: Bearer <key>` for DRF views and for the plain Django views of the
OpenAI-compatible API (which stream and so bypass DRF).

Wrong keys count towards a lockout of the client's address (accounts.lockout): while it lasts,
every key from there is refused with 429 and Retry-After.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import authentication, exceptions

from accounts import lockout
from accounts.models import ApiKey
from accounts.selectors import api_key_lookup


class ApiKeyLockedOut(Exception):
    def __init__(self) -> None:
        super().__init__(lockout.lockout_message(api_key=True))
        self.retry_after = lockout.api_key_retry_after()


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_key_for_request(request: HttpRequest, token: str) -> ApiKey | None:
    """The active key `token` is, or None (counted as a failure); ApiKeyLockedOut while locked."""
    if lockout.api_key_locked(request):
        raise ApiKeyLockedOut()
    key = api_key_lookup(raw_key=token)
    if key is None:
        lockout.api_key_failed(request)
    return key


def authenticate_bearer(request: HttpRequest) -> ApiKey | None:
    """The key of a request's valid Bearer token (its `.user` loaded), or None."""
    token = bearer_token(request)
    return api_key_for_request(request, token) if token else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiKey] | None:
        token = bearer_token(request._request)
        if token is None:
            return None
        try:
            key = api_key_for_request(request._request, token)
        except ApiKeyLockedOut as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=str(exc)) from None
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return (key.user, key)

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
