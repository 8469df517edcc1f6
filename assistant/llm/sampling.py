"""What a generation asks for, typed once: the sampling parameters, the messages or prompt, and
the request as it travels to an inference worker.

`Sampling` is shared by the OpenAI-compatible API (whose request models are built from the same
field types), the chat service and the worker payload, so a range or a default lives here only.
A `json_schema` makes the worker decode under llama.cpp's grammar for that schema: the output
is JSON matching it (unless `max_tokens` cuts it short, which the finish reason "length" says).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MaxTokens = Annotated[int, Field(ge=1, le=32768)]
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(ge=0.0, le=1.0)]
Seed = Annotated[int, Field(ge=-(2**63), le=2**64 - 1)]
StopSequence = Annotated[str, Field(min_length=1)]
Role = Literal["system", "user", "assistant"]


def check_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema the worker can turn into a grammar: a valid schema describing JSON output."""
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"not a valid JSON schema: {exc.message}") from exc
    return schema


class ChatMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str


class Sampling(BaseModel):
    """How the next token is chosen, and when to stop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: MaxTokens = 256
    # max_tokens is a default the caller did not ask for: the worker lowers it to the room the
    # prompt leaves in the model's context, as OpenAI's default runs to the end of the context.
    max_tokens_fit: bool = False
    temperature: Temperature = 0.7
    top_p: TopP = 0.95
    stop: tuple[StopSequence, ...] = ()
    seed: Seed | None = None
    # The output must be JSON matching this schema (decoded under its grammar).
    json_schema: dict[str, Any] | None = None

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if schema is None else check_json_schema(schema)

    def schema_key(self) -> str | None:
        """The schema in one canonical spelling: equal schemas share one compiled grammar."""
        return None if self.json_schema is None else json.dumps(self.json_schema, sort_keys=True)


class Generation(BaseModel):
    """One generation request: a chat or a plain completion, as the worker receives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["chat", "completion"]
    messages: tuple[ChatMessage, ...] = ()
    prompt: str = ""
    sampling: Sampling = Sampling()
    version_id: int | None = None

    @classmethod
    def chat(cls, messages: list[dict[str, str]] | tuple[ChatMessage, ...], sampling: Sampling) -> Generation:
        return cls(kind="chat", messages=tuple(ChatMessage.model_validate(m) for m in messages), sampling=sampling)

    @classmethod
    def completion(cls, prompt: str, sampling: Sampling) -> Generation:
        return cls(kind="completion", prompt=prompt, sampling=sampling)

    def message_dicts(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.messages]
