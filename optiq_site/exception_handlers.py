"""One error path for the API (`/api/...`) and the OpenAI-compatible API (`/v1/...`).

Known errors become their status, naming the field where there is one:

- Django's ValidationError (models, services) -> 400 with the fields and their messages, or 409
  when it is a StateConflict (the record's state forbids a well-formed request);
- PermissionDenied -> 403, ObjectDoesNotExist / Http404 -> 404, ProtectedError (a record still
  in use) -> 409;
- a body over Django's limits -> 413 (too big) or 400 (too many fields or files), as Django's
  own handler answers them, and any other BadRequest / SuspiciousOperation -> 400;
- a ServiceError (the inference errors of assistant.llm.errors, say) -> its own status, with
  Retry-After when it says when to try again (no worker free, the broker down);
- the database unreachable or the pool exhausted (OperationalError) -> 503 with Retry-After.

Anything else is a bug: a JSON 500 carrying the request id, logged with its traceback and
the same id. DRF views reach this through REST_FRAMEWORK["EXCEPTION_HANDLER"]; plain views
under those prefixes (the OpenAI-compatible views, unknown URLs, Django's own error pages,
also with DEBUG on) through ApiErrorsAsJsonMiddleware. `/v1` answers in OpenAI's error
shape, {"error": {"message", "type", "param", "code"}}.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import (
    BadRequest,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from optiq_site.request_ids import request_id_for
from optiq_site.service_errors import ServiceError, StateConflict

logger = logging.getLogger("optiq.api")

API_PREFIX = "/api/"
OPENAI_PREFIX = "/v1/"
DATABASE_RETRY_AFTER_S = 5

OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


@dataclass
class KnownError:
    """How a known exception is answered: status, body fields, headers."""

    status: int
    detail: Any
    code: str
    headers: dict[str, str] = field(default_factory=dict)
    param: str | None = None


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as {field: [messages]}; errors without a field under non_field_errors."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if name == "__all__" else name): messages
            for name, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def known_error(exc: BaseException) -> KnownError | None:
    """The answer to a known service or infrastructure error; None for anything else (a bug)."""
    if isinstance(exc, DjangoValidationError):
        detail = validation_error_detail(exc)
        if isinstance(exc, StateConflict):
            return KnownError(409, detail, "conflict", param=next(iter(detail), None))
        return KnownError(400, detail, "invalid", param=next(iter(detail), None))
    if isinstance(exc, PermissionDenied):
        return KnownError(403, str(exc) or "You do not have permission to perform this action.", "permission_denied")
    if isinstance(exc, RequestDataTooBig):
        return KnownError(413, "The request body is larger than this server accepts in memory.", "request_too_large")
    if isinstance(exc, ObjectDoesNotExist | Http404):
        return KnownError(404, str(exc) or "Not found.", "not_found")
    if isinstance(exc, BadRequest | SuspiciousOperation):
        # TooManyFieldsSent, TooManyFilesSent, a malformed host header...: the client's doing.
        logger.warning("bad request: %s: %s", type(exc).__name__, exc)
        return KnownError(400, str(exc) or "Bad request.", "bad_request")
    if isinstance(exc, ProtectedError):
        detail = {api_settings.NON_FIELD_ERRORS_KEY: [f"Still in use, so it cannot be deleted: {exc.args[0]}"]}
        return KnownError(409, detail, "protected")
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
        return KnownError(exc.status, str(exc), exc.code, headers, param=exc.param)
    if isinstance(exc, OperationalError | InterfaceError):
        # Unreachable, restarting, or every pooled connection busy for OPTIQ_DB_POOL_TIMEOUT.
        logger.warning("database unavailable: %s", exc)
        return KnownError(
            503,
            "The database is unavailable; retry shortly.",
            "database_unavailable",
            {"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    return None


class _Answered(exceptions.APIException):
    """A known error handed to DRF's own handler (which adds WWW-Authenticate, rollback and so on)."""

    def __init__(self, error: KnownError) -> None:
        super().__init__(detail=error.detail, code=error.code)
        self.status_code = error.status


def _log_unhandled(exc: BaseException, request: HttpRequest | None, request_id: str) -> None:
    where = f"{request.method} {request.path}" if request is not None else "?"
    logger.error("%s in %s (request %s)", type(exc).__name__, where, request_id, exc_info=exc)


def _server_error_message(request_id: str) -> str:
    return f"Internal server error; quote request id {request_id} when reporting it."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every DRF view's errors."""
    request = context.get("request")
    error = None if isinstance(exc, exceptions.APIException) else known_error(exc)
    response = drf_exception_handler(_Answered(error) if error else exc, context)
    if response is not None:
        if error:
            if isinstance(response.data, dict) and set(response.data) == {"detail"}:
                response.data["code"] = error.code
            if error.status >= 500 and isinstance(response.data, dict):
                response.data["request_id"] = request_id_for(request)
                if error.status != 503:  # a failing backend, not a busy or restarting one
                    _log_unhandled(exc, request, response.data["request_id"])
            for name, value in error.headers.items():
                response[name] = value
        return response
    request_id = request_id_for(request)
    _log_unhandled(exc, request, request_id)
    set_rollback()
    return Response(
        {"detail": _server_error_message(request_id), "code": "server_error", "request_id": request_id},
        status=500,
    )


def _message_of(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(
            f"{name}: {' '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}" for name, msgs in detail.items()
        )
    return str(detail)


def json_error(
    request: HttpRequest,
    status: int,
    detail: Any,
    *,
    code: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    """An error body in the prefix's own shape: OpenAI's under /v1/, DRF's elsewhere."""
    request_id = request_id_for(request)
    if request.path.startswith(OPENAI_PREFIX):
        body: dict[str, Any] = {
            "error": {
                "message": _message_of(detail),
                "type": OPENAI_ERROR_TYPES.get(status, "server_error"),
                "param": param,
                "code": code,
            }
        }
    else:
        body = dict(detail) if isinstance(detail, dict) else {"detail": detail, "code": code}
    if status >= 500:
        body["request_id"] = request_id
    return JsonResponse(body, status=status, headers=headers)


def unhandled_error_response(request: HttpRequest, exc: BaseException) -> JsonResponse:
    """A bug: logged with its traceback and the request id, answered as a JSON 500 naming the id."""
    request_id = request_id_for(request)
    _log_unhandled(exc, request, request_id)
    return json_error(request, 500, _server_error_message(request_id), code="server_error")


def exception_response(request: HttpRequest, exc: BaseException) -> JsonResponse:
    """The JSON answer to an exception a plain view let through: a known error's status (a 503
    with Retry-After for the database away or its pool exhausted), otherwise a logged 500."""
    error = known_error(exc)
    if error is not None:
        return json_error(
            request, error.status, error.detail, code=error.code, param=error.param, headers=error.headers
        )
    return unhandled_error_response(request, exc)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith((API_PREFIX, OPENAI_PREFIX))


class ApiErrorsAsJsonMiddleware:
    """Under /api/ and /v1/: an exception a view did not handle becomes its JSON answer, and an
    HTML error page (Django's 404, 405, 500, or the debug pages with DEBUG on) is replaced by
    JSON with the same status."""

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
        return self._as_json(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return self._as_json(request, await self.get_response(request))

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponseBase | None:
        if not _is_api(request):
            return None
        return exception_response(request, exc)

    def _as_json(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            response.status_code < 400
            or response.streaming
            or not _is_api(request)
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        status = response.status_code
        if status == 404:
            detail = f"No such endpoint: {request.method} {request.path}"
        elif status >= 500:
            detail = _server_error_message(request_id_for(request))
        else:
            try:
                detail = HTTPStatus(status).phrase
            except ValueError:
                detail = "Error"
        code = "not_found" if status == 404 else ("server_error" if status >= 500 else "error")
        replaced = json_error(request, status, detail, code=code)
        for name in ("Allow", "Retry-After"):
            if name in response:
                replaced[name] = response[name]
        return replaced
