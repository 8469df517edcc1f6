"""Lockout after repeated failed logins (django-axes): the admin's password form and wrong API keys.

A staff login is locked by its username, so a practice whose staff share one address is not
locked out as a whole by one person's typos. Wrong API keys carry no username: they are counted
per client address under a name no staff login can have, so they never count against a staff
login and staff typos never lock the address's API clients.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

# Usernames may hold letters, digits and @.+-_ only (Django's validator): this name is no login.
API_KEY_LOGIN = "<api key>"
API_KEY_CREDENTIALS = {"username": API_KEY_LOGIN}


def lockout_parameters(request: Any, credentials: dict[str, Any] | None = None) -> list[Any]:
    """What a failure is counted against (AXES_LOCKOUT_PARAMETERS)."""
    username = (credentials or {}).get("username") or getattr(request, "username", None)
    if username == API_KEY_LOGIN:
        return [["username", "ip_address"]]
    return ["username"]


def cool_off() -> timedelta:
    value = settings.AXES_COOLOFF_TIME
    return value if isinstance(value, timedelta) else timedelta(hours=float(value or 0))


def lockout_message(*, api_key: bool) -> str:
    minutes = max(1, round(cool_off().total_seconds() / 60))
    what = "wrong API keys from this address" if api_key else "wrong passwords for this login"
    return (
        f"Locked out for {minutes} minutes after {settings.AXES_FAILURE_LIMIT} {what}. "
        "Try again after that, or ask a manager or the administrator to unlock it "
        "(`python manage.py axes_reset_username USERNAME`)."
    )


def lockout_response(request: HttpRequest, *args: Any) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE, for the failure that reaches the limit: the admin's login page says
    why and for how long; the API answers JSON, in OpenAI's error shape on /v1.

    (axes calls it with (request, original_response, credentials), or (request, credentials).)"""
    credentials = getattr(request, "axes_credentials", None) or {}
    api_key = credentials.get("username") == API_KEY_LOGIN
    message = lockout_message(api_key=api_key)
    response: HttpResponse
    if request.path.startswith("/v1/"):
        error = {"message": message, "type": "requests", "param": None, "code": "too_many_invalid_keys"}
        response = JsonResponse({"error": error}, status=429)
    elif request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        context = {"title": "Login locked", "lockout_message": message}
        response = render(request, "admin/login_locked.html", context, status=429)
    response["Retry-After"] = str(api_key_retry_after())
    return response


def api_key_locked(request: HttpRequest) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    return bool(getattr(settings, "AXES_ENABLED", True)) and not AxesProxyHandler.is_allowed(
        request, dict(API_KEY_CREDENTIALS)
    )


def api_key_failed(request: HttpRequest) -> None:
    """Count a wrong or revoked API key against the client's address."""
    user_login_failed.send(sender=__name__, credentials=dict(API_KEY_CREDENTIALS), request=request)


def api_key_retry_after() -> int:
    return int(cool_off().total_seconds())
