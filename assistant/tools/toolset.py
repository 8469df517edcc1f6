"""The tool registry: each tool has a name, a description, a JSON parameter schema and the
permission it needs, and runs with the asking user's permissions."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models


class ToolError(Exception):
    """A tool could not run with these arguments (a message the user may read)."""


class ToolPermissionDenied(Exception):
    """The user may not see what the tool would show. The message is the plain refusal."""


@dataclasses.dataclass(frozen=True)
class ToolContext:
    user: Any
    today: date
    ip: str | None = None
    thread_id: int | None = None
    message_id: int | None = None
    question: str = ""


@dataclasses.dataclass
class ToolResult:
    tool: str
    arguments: dict[str, Any]
    title: str
    # The figure sentences of the answer, composed from `data` alone: quoted verbatim.
    text: str
    data: Any
    touched_patient_data: bool = False
    extra_sources: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def source(self) -> dict[str, Any]:
        return {
            "kind": "tool_result",
            "id": self.tool,
            "title": self.title,
            "snippet": self.text,
            "score": 1.0,
            "arguments": self.arguments,
            "data": self.data,
        }


@dataclasses.dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    permission: str | None
    refusal: str
    run: Callable[[ToolContext, dict[str, Any]], ToolResult]
    touches_patient_data: bool = False
    extra_permissions: tuple[str, ...] = ()

    def allowed(self, user: Any) -> bool:
        needed = [p for p in (self.permission, *self.extra_permissions) if p]
        return bool(user and user.is_active and all(user.has_perm(p) for p in needed))

    def call(self, context: ToolContext, arguments: Mapping[str, Any]) -> ToolResult:
        if not self.allowed(context.user):
            raise ToolPermissionDenied(self.refusal)
        return self.run(context, validate_arguments(self, dict(arguments)))

    def schema(self) -> dict[str, Any]:
        """The OpenAI/Llama-style function description handed to models with native tool calling."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


TOOLS: dict[str, Tool] = {}


def register(tool: Tool) -> Tool:
    TOOLS[tool.name] = tool
    return tool


def tool_get(name: str) -> Tool:
    try:
        return TOOLS[name]
    except KeyError:
        raise ToolError(f"Unknown tool {name!r}.") from None


def validate_arguments(tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """Check arguments against the tool's schema (types, enums, required); unknown keys are dropped."""
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    clean: dict[str, Any] = {}
    for key, spec in properties.items():
        if arguments.get(key) in (None, ""):
            continue
        value = arguments[key]
        kind = spec.get("type")
        if kind == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ToolError(f"{key}: must be a whole number.") from None
            if ("minimum" in spec and value < spec["minimum"]) or ("maximum" in spec and value > spec["maximum"]):
                raise ToolError(f"{key}: must be between {spec.get('minimum')} and {spec.get('maximum')}.")
        elif kind == "boolean":
            value = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes"}
        elif kind == "string":
            value = str(value).strip()
        if "enum" in spec and value not in spec["enum"]:
            raise ToolError(f"{key}: must be one of {', '.join(spec['enum'])}.")
        clean[key] = value
    missing = [key for key in tool.parameters.get("required", []) if key not in clean]
    if missing:
        raise ToolError(f"{', '.join(missing)}: required.")
    return clean


def plain(value: Any) -> Any:
    """JSON-safe copy of a selector's result (Decimals as strings, so figures stay exact)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return {f.attname: plain(getattr(value, f.attname)) for f in value._meta.concrete_fields}
    if isinstance(value, list | tuple | set | models.QuerySet):
        return [plain(v) for v in value]
    return value
