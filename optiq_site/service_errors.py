"""The base of the errors a service raises on purpose, with the HTTP answer they deserve.

The apps subclass ServiceError (the inference errors, say); the one API exception handler
(optiq_site.exception_handlers) answers each with its `status` and `code`, and `Retry-After`
when `retry_after` is set, without knowing the apps."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class ServiceError(Exception):
    status = 500
    code = "service_error"
    param: str | None = None
    retry_after: int | None = None


class StateConflict(ValidationError):
    """A well-formed request that the record's current state forbids: a sale that is no longer a
    draft, stock that is not there, a lab job with no next step. Answered 409 with the fields and
    messages of a ValidationError (which it is, for the admin and every caller that catches one):
    the same request may succeed once the state changes, so it is not a fault of its shape."""
