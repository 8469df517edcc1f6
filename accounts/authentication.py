"""`Authorization: Bearer <key>` for DRF views and for the plain Django views of the
OpenAI-compatible API (which stream and so bypass DRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import authentication, exceptions

from accounts.selectors import api_key_user


def bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_bearer(request: HttpRequest) -> Any | None:
    token = bearer_token(request)
    return api_key_user(raw_key=token) if token else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        token = bearer_token(request._request)
        if token is None:
            return None
        user = api_key_user(raw_key=token)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return (user, None)

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
