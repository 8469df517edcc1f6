"""Errors of the inference path, each mapped to an HTTP status by the API layer."""

from __future__ import annotations

from optiq_site.service_errors import ServiceError


class InferenceError(ServiceError):
    status = 500
    code = "inference_error"


class ModelNotFound(InferenceError):
    """The requested model name is not registered (404)."""

    status = 404
    code = "model_not_found"


class RequestRejected(InferenceError):
    """The worker refused the request as asked, e.g. prompt plus max_tokens beyond the context (400)."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str = "invalid_request", param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


class Unavailable(InferenceError):
    """Generation cannot start now; the client may try again after `retry_after` seconds (503)."""

    status = 503
    code = "unavailable"

    retry_after: int

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoWorkerAvailable(Unavailable):
    """No inference worker exists, or none took the request in time."""

    code = "no_worker_available"


class BrokerUnavailable(Unavailable):
    """The broker (Redis) is down or does not answer within OPTIQ_BROKER_TIMEOUT_S."""

    code = "broker_unavailable"


class BackendError(InferenceError):
    """The model failed to load or the external server answered with an error (502)."""

    status = 502
    code = "backend_error"


class WorkerLost(BackendError):
    """The inference worker serving the request stopped beating (killed, or its machine went away)."""

    code = "worker_lost"
