"""A request id on every request: kept from a sane incoming X-Request-ID or made here, sent
back in the X-Request-ID response header, written on every log line of the request and put in
the body of every 500, so that a user's report leads to the log lines."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADER = "X-Request-ID"
# Ids from a proxy or client are kept when they are short and plain (no spaces, quotes or
# control characters that could forge log lines or headers).
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("optiq_request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served in this context, or "-" outside a request."""
    return _current.get()


def request_id_for(request: HttpRequest | None) -> str:
    return getattr(request, "request_id", None) or current_request_id()


def _incoming_or_new(request: HttpRequest) -> str:
    incoming = request.headers.get(HEADER, "")
    return incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE, so that every response carries the header, error pages included."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        self._start(request)
        response: HttpResponseBase = self.get_response(request)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        self._start(request)
        response: HttpResponseBase = await self.get_response(request)
        response[HEADER] = request.request_id  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _start(request: HttpRequest) -> None:
        request.request_id = _incoming_or_new(request)  # type: ignore[attr-defined]
        # Not reset when the middleware returns: Django logs an error response after the
        # middleware chain, and a streamed body after that; the next request sets its own.
        _current.set(request.request_id)  # type: ignore[attr-defined]


class RequestIdLogFilter(logging.Filter):
    """Gives every log record a `request_id` attribute for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True
