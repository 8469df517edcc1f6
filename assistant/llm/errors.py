"""Errors of the inference path, each mapped to an HTTP status by the API layer."""

from __future__ import annotations


class InferenceError(Exception):
    status = 500
    code = "inference_error"


class ModelNotFound(InferenceError):
    """The requested model name is not registered (404)."""

    status = 404
    code = "model_not_found"


class InferenceRequestRejected(InferenceError, ValueError):
    """The worker refused the request as given, e.g. a prompt longer than the context (400).

    Also a ValueError, which is what callers caught before this error had a name."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class NoWorkerAvailable(InferenceError):
    """No inference worker took the request in time (503 with Retry-After)."""

    status = 503
    code = "no_worker_available"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendError(InferenceError):
    """The model failed to load or the external server answered with an error (502)."""

    status = 502
    code = "backend_error"
