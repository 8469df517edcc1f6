"""Who may read the operational surface: /metrics, the API schema and docs, /readyz's detail.

Staff (a session or an API key of a staff user), a scraper presenting the operations token
(`Authorization: Bearer <OPTIQ_OPERATIONS_TOKEN>`, as Prometheus' `authorization` setting
sends it), or a client address on OPTIQ_OPERATIONS_ALLOW (addresses or networks). The schema
names every field of patient records and /readyz the versions of every service: neither is for
the open network.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from rest_framework import authentication, permissions

OPERATIONS_TOKEN = "operations-token"


def presents_operations_token(request: HttpRequest) -> bool:
    token = settings.OPTIQ_OPERATIONS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def address_allowed(request: HttpRequest) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(allowed, strict=False) for allowed in settings.OPTIQ_OPERATIONS_ALLOW)


def operations_allowed(request: HttpRequest, user: Any = None) -> bool:
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return presents_operations_token(request) or address_allowed(request)


class OperationsTokenAuthentication(authentication.BaseAuthentication):
    """Takes the operations token before the API-key check would count it as a wrong key."""

    def authenticate(self, request: Any) -> tuple[Any, str] | None:
        if presents_operations_token(request._request):
            return (AnonymousUser(), OPERATIONS_TOKEN)
        return None


class OperationsPermission(permissions.BasePermission):
    message = (
        "The API schema is for staff and authorised scrapers: log in to the admin, use a staff "
        "user's API key, or send the operations token (OPTIQ_OPERATIONS_TOKEN)."
    )

    def has_permission(self, request: Any, view: Any) -> bool:
        return request.auth == OPERATIONS_TOKEN or operations_allowed(request._request, request.user)
