"""OpenAI request bodies as pydantic models: every broken rule is a 400 whose `param` names the
field ("messages[0].role"), as OpenAI's own errors do. The sampling fields share their types
with `assistant.llm.sampling.Sampling`, which the models hand to the inference client.

Fields OpenAI defines that OptiQ does not use (user, logit_bias, ...) are accepted and ignored,
so that the official clients work unchanged; values are checked strictly ("0.5" is not a number).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from assistant.llm.sampling import (
    ChatMessage,
    Generation,
    MaxTokens,
    Sampling,
    Seed,
    StopSequence,
    Temperature,
    TopP,
    check_json_schema,
)

MAX_STOP_SEQUENCES = 4
MAX_EMBEDDING_INPUTS = 2048


class InvalidRequest(ValueError):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _text_content(value: Any) -> Any:
    """Content as a string, or as content parts of which only text is supported."""
    if isinstance(value, list):
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in value):
            raise PydanticCustomError(
                "text_parts", "content parts must be text parts (type 'text' with a 'text' string)"
            )
        return "".join(part["text"] for part in value)
    return value


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _single_prompt(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


Body = TypeVar("Body", bound=_Body)


class RequestMessage(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, BeforeValidator(_text_content)]

    def chat_message(self) -> ChatMessage:
        return ChatMessage(role="system" if self.role == "developer" else self.role, content=self.content)


class StreamOptions(_Body):
    include_usage: bool = True


class JsonSchemaFormat(_Body):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: str | None = None
    definition: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None

    @field_validator("definition")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if schema is None else check_json_schema(schema)


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    def schema_for_output(self) -> dict[str, Any] | None:
        if self.type == "text":
            return None
        if self.type == "json_schema":
            if self.json_schema is None:
                raise InvalidRequest(
                    "'response_format.json_schema' is required when the type is json_schema",
                    param="response_format.json_schema",
                )
            return self.json_schema.definition or {"type": "object"}
        return {"type": "object"}


class _GenerationBody(_Body):
    model: str | None = None
    max_tokens: MaxTokens | None = None
    max_completion_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    top_p: TopP | None = None
    stop: Annotated[list[StopSequence], Field(max_length=MAX_STOP_SEQUENCES), BeforeValidator(_one_or_many)] | None = (
        None
    )
    seed: Seed | None = None
    n: Literal[1] | None = None  # one choice is generated
    stream: bool = False
    stream_options: StreamOptions | None = None

    @property
    def include_usage(self) -> bool:
        # The usage chunk is sent unless include_usage=false is asked for.
        return self.stream_options is None or self.stream_options.include_usage

    def sampling(self, *, default_max_tokens: int, json_schema: dict[str, Any] | None = None) -> Sampling:
        asked = self.max_tokens or self.max_completion_tokens
        given: dict[str, Any] = {
            "max_tokens": asked or default_max_tokens,
            "max_tokens_fit": asked is None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": tuple(self.stop or ()),
            "seed": self.seed,
        }
        return Sampling(json_schema=json_schema, **{k: v for k, v in given.items() if v is not None})


class ChatCompletionRequest(_GenerationBody):
    messages: Annotated[list[RequestMessage], Field(min_length=1)]
    response_format: ResponseFormat | None = None

    def generation(self) -> Generation:
        schema = self.response_format.schema_for_output() if self.response_format else None
        return Generation.chat(
            tuple(m.chat_message() for m in self.messages), self.sampling(default_max_tokens=256, json_schema=schema)
        )


class CompletionRequest(_GenerationBody):
    prompt: Annotated[str, Field(min_length=1), BeforeValidator(_single_prompt)]

    def generation(self) -> Generation:
        # 16 tokens is OpenAI's default for completions.
        return Generation.completion(self.prompt, self.sampling(default_max_tokens=16))


class EmbeddingRequest(_Body):
    model: str | None = None
    input: Annotated[list[str], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS), BeforeValidator(_one_or_many)]
    encoding_format: Literal["float", "base64"] = "float"


def _param(location: tuple[int | str, ...]) -> str | None:
    """('messages', 0, 'role') -> 'messages[0].role', as OpenAI names parameters."""
    param = ""
    for part in location:
        param += f"[{part}]" if isinstance(part, int) else (f".{part}" if param else str(part))
    return param or None


def parse(body_type: type[Body], body: bytes) -> Body:
    """The request body as `body_type`, or InvalidRequest naming the first field that breaks a rule."""
    try:
        return body_type.model_validate_json(body or b"")
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        if error["type"] == "json_invalid":
            raise InvalidRequest(f"The request body is not valid JSON: {error['msg']}") from None
        param = _param(tuple(error["loc"]))
        if param is None:
            raise InvalidRequest(f"The request body must be a JSON object: {error['msg']}") from None
        raise InvalidRequest(f"'{param}': {error['msg']}", param=param) from None
