"""Limits on what a request may make the server hold: the body's declared size, checked before
any of it is read, and each uploaded file's size, checked before its content is read.

Django keeps a request body in memory up to DATA_UPLOAD_MAX_MEMORY_SIZE and an uploaded file up
to FILE_UPLOAD_MAX_MEMORY_SIZE (beyond that, in a temporary file); a body declared larger than
OPTIQ_REQUEST_MAX_BYTES is refused with 413 here, so neither memory nor disk fills.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def check_upload_size(*, upload: Any, field: str, limit_bytes: int | None = None) -> None:
    """ValidationError naming `field` when the uploaded file is larger than the limit
    (OPTIQ_UPLOAD_MAX_BYTES by default); call it before reading the file."""
    limit = settings.OPTIQ_UPLOAD_MAX_BYTES if limit_bytes is None else limit_bytes
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            {field: f"The file is {megabytes(upload.size)}; uploads may be at most {megabytes(limit)}."}
        )


class RequestSizeLimitMiddleware:
    """413 for a body declared larger than OPTIQ_REQUEST_MAX_BYTES, before it is read."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        refusal = self._refusal(request)
        if self.is_async:
            return self._acall(request, refusal)
        return refusal or self.get_response(request)

    async def _acall(self, request: HttpRequest, refusal: HttpResponseBase | None) -> HttpResponseBase:
        return refusal or await self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponseBase | None:
        from optiq_site.exception_handlers import json_error

        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = settings.OPTIQ_REQUEST_MAX_BYTES
        if declared <= limit:
            return None
        message = f"The request body is {megabytes(declared)}; requests may be at most {megabytes(limit)}."
        if request.path.startswith(("/api/", "/v1/")):
            return json_error(request, 413, message, code="request_too_large")
        return HttpResponse(message, status=413, content_type="text/plain")
