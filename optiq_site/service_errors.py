"""The base of the errors a service raises on purpose, with the HTTP answer they deserve.

The apps subclass ServiceError (the inference errors, say); the one API exception handler
(optiq_site.exception_handlers) answers each with its `status` and `code`, and `Retry-After`
when `retry_after` is set, without knowing the apps."""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    code = "service_error"
    param: str | None = None
    retry_after: int | None = None
