"""The API's error answers in its OpenAPI schema: a drf-spectacular postprocessing hook.

drf-spectacular declares only the success answer of each operation; the errors come from the
one exception handler (optiq_site.exception_handlers) and DRF itself, so they are declared here,
by what can produce them, with the shapes the handler writes:

- 400: a field breaks a rule (`{field: [messages]}`, `non_field_errors`), or the body or a query
  parameter is malformed (`{"detail", "code"}`): writes, and reads with query parameters;
- 401 / 403: no valid credentials; a role without the permission: every operation;
- 404: no such object (path parameters), or a page past the end (`page`);
- 409: a well-formed write the record's state forbids (a sale no longer a draft, stock not there,
  a record still in use): writes;
- 413 / 415: a body over the server's limit; a Content-Type the operation does not parse;
- 503 with Retry-After: the database (or, where the operation needs it, the broker) unavailable.
"""

from __future__ import annotations

from typing import Any

ERROR = "ApiError"
ERROR_COMPONENT = {
    "type": "object",
    "description": "An error. `detail` and `code` say what went wrong; on a 400 for bad fields, each "
    "field at fault maps to its messages instead (`non_field_errors` for rules across fields); on a "
    "5xx, `request_id` names the request in the server's log.",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}
METHODS = {"get", "post", "put", "patch", "delete"}


def _error(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait."}
        }
    return response


def _errors_of(
    method: str, operation: dict[str, Any], path_parameters: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    parameters = [*path_parameters, *operation.get("parameters", [])]
    where = {p.get("in") for p in parameters}
    names = {p.get("name") for p in parameters}
    has_body = "requestBody" in operation
    errors: dict[str, dict[str, Any]] = {}
    if has_body or "query" in where or method != "get":
        errors["400"] = _error("A field or parameter breaks a rule (the answer names it), or the body is malformed.")
    errors["401"] = _error("No valid credentials (an API key as `Authorization: Bearer …`, or a session).")
    errors["403"] = _error("The user's role does not allow this.")
    if "path" in where or "page" in names:
        errors["404"] = _error("No such object, or one the user may not see; or a page past the last.")
    if method != "get":
        errors["409"] = _error(
            "The record's current state does not allow it (a sale that is no longer a draft, stock that is "
            "not there, a record still in use); the answer names the field and the rule."
        )
    if has_body:
        errors["413"] = _error("The body is larger than the server accepts.")
        errors["415"] = _error("The body's Content-Type is not one this operation accepts.")
    errors["503"] = _error("The database or the broker is unavailable; retry after Retry-After.", retry_after=True)
    return errors


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: each `/api/` operation with the errors it can answer
    (those it declares itself are kept)."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in _errors_of(method, operation, item.get("parameters", [])).items():
                responses.setdefault(status, response)
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR] = ERROR_COMPONENT
    return result
