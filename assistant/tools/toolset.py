"""The assistant's toolset: each tool has a name, a description, a pydantic model of its
arguments (its JSON schema is what models are shown and decode under) and the permissions it
needs, and runs with the asking user's permissions.

Arguments are validated by the tool's model before the tool runs, whatever produced them (the
question parser, a model's tool call, a fine-tuned router): a bad argument is a ToolError
naming the field and the rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from pydantic import BaseModel, ValidationError


class ToolError(Exception):
    """A tool could not run with these arguments (a message the user may read)."""


class ToolPermissionDenied(Exception):
    """The user may not see what the tool would show. The message is the plain refusal."""


@dataclasses.dataclass(frozen=True)
class ToolContext:
    user: Any
    today: date
    ip: str | None = None
    thread_id: int | None = None  # recorded with the audit events of patient tools


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


def validation_message(error: ValidationError) -> str:
    """One line per broken rule, each naming its field: "limit: Input should be less than or equal to 50"."""
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "arguments"
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{field}: {message}")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    permission: str | None
    refusal: str
    run: Callable[[ToolContext, Any], ToolResult]
    touches_patient_data: bool = False
    extra_permissions: tuple[str, ...] = ()
    # Permissions that depend on the arguments (a cost figure, a report): (permissions, refusal).
    argument_permissions: Callable[[Any], tuple[tuple[str, ...], str]] | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()

    def validate(self, arguments: Mapping[str, Any] | BaseModel) -> Any:
        if isinstance(arguments, self.arguments):
            return arguments
        try:
            raw = arguments.model_dump() if isinstance(arguments, BaseModel) else dict(arguments)
            return self.arguments.model_validate(raw)
        except ValidationError as error:
            raise ToolError(validation_message(error)) from None

    def permissions_for(self, arguments: Any = None) -> tuple[str, ...]:
        """Every permission this call needs (those its arguments add included)."""
        needed = tuple(p for p in (self.permission, *self.extra_permissions) if p)
        if arguments is not None and self.argument_permissions is not None:
            needed = (*needed, *self.argument_permissions(arguments)[0])
        return needed

    def refusal_for(self, user: Any, arguments: Any = None) -> str | None:
        """None when `user` may run this call; otherwise the plain refusal."""
        if not (user and user.is_active):
            return self.refusal
        base = tuple(p for p in (self.permission, *self.extra_permissions) if p)
        if not all(user.has_perm(p) for p in base):
            return self.refusal
        if arguments is not None and self.argument_permissions is not None:
            more, refusal = self.argument_permissions(arguments)
            if not all(user.has_perm(p) for p in more):
                return refusal
        return None

    def allowed(self, user: Any, arguments: Any = None) -> bool:
        return self.refusal_for(user, arguments) is None

    def call(self, context: ToolContext, arguments: Mapping[str, Any] | BaseModel) -> ToolResult:
        """Validate, check permissions (those the arguments need too), then run."""
        if not self.allowed(context.user):
            raise ToolPermissionDenied(self.refusal)
        valid = self.validate(arguments)
        refusal = self.refusal_for(context.user, valid)
        if refusal:
            raise ToolPermissionDenied(refusal)
        return self.run(context, valid)

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


def plain(value: Any) -> Any:
    """JSON-safe copy of a selector's result (Decimals as strings, so figures stay exact)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, models.Model):
        return {f.attname: plain(getattr(value, f.attname)) for f in value._meta.concrete_fields}
    if isinstance(value, list | tuple | set | models.QuerySet):
        return [plain(v) for v in value]
    return value
