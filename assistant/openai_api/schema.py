"""The OpenAPI description of `/v1`, added to the API schema (`/api/schema/`) by a
drf-spectacular postprocessing hook.

The `/v1` views are plain async Django views (they stream), so drf-spectacular cannot see
them: their requests and answers are written out here, rule for rule as
`assistant.openai_api.requests` checks them and `assistant.openai_api.views` writes them.
The fuzzer (tests/fuzz) holds the two together: a request this schema allows must not be
rejected for its shape, one it forbids must be a 4xx, and every answer must match.
"""

from __future__ import annotations

from typing import Any

from assistant.llm.embeddings import EMBEDDING_MODEL_NAME
from assistant.openai_api.requests import MAX_EMBEDDING_INPUTS, MAX_STOP_SEQUENCES

TAG = "v1 (OpenAI-compatible)"
JSON = "application/json"
EVENT_STREAM = "text/event-stream"


# One server-sent event as clients read it (the WHATWG fields); `data` is a JSON chunk or `[DONE]`.
SERVER_SENT_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_TEXT_PART = {
    "type": "object",
    "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}},
    "required": ["type", "text"],
}
_GENERATION_FIELDS: dict[str, Any] = {
    "model": _nullable(
        {"type": "string", "description": "A registered model version's name, or `optiq`: the active chat model."}
    ),
    "max_tokens": _nullable(
        {
            "type": "integer",
            "minimum": 1,
            "maximum": 32768,
            "description": "The prompt plus max_tokens must fit the model's context (400 "
            "`context_length_exceeded` otherwise). Without it, at most 256 tokens (16 for completions), "
            "fewer where the prompt leaves less room in the context.",
        }
    ),
    "max_completion_tokens": _nullable({"type": "integer", "minimum": 1, "maximum": 32768}),
    "temperature": _nullable({"type": "number", "minimum": 0, "maximum": 2}),
    "top_p": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
    "stop": _nullable(
        {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "maxItems": MAX_STOP_SEQUENCES,
                },
            ]
        }
    ),
    "seed": _nullable({"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1}),
    "n": _nullable({"type": "integer", "enum": [1], "description": "One choice is generated."}),
    "stream": {"type": "boolean", "default": False, "description": "Answer as server-sent events."},
    "stream_options": _nullable(_ref("OpenAIStreamOptions")),
}
_JSON_SCHEMA_FORMAT = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
        "description": _nullable({"type": "string"}),
        "schema": _nullable(
            {
                "type": "object",
                "additionalProperties": True,
                "description": "A JSON Schema; the answer is decoded under its grammar.",
            }
        ),
        "strict": _nullable({"type": "boolean"}),
    },
    "required": ["name"],
}


def _response_format(kind: str, *, json_schema_required: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [kind]},
            "json_schema": _ref("OpenAIJsonSchemaFormat")
            if json_schema_required
            else _nullable(_ref("OpenAIJsonSchemaFormat")),
        },
        "required": ["type", "json_schema"] if json_schema_required else ["type"],
    }
    return schema


def _error_response(description: str, *, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref("OpenAIError")}}}
    if retry_after:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait."}
        }
    return response


_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"},
        "total_tokens": {"type": "integer"},
    },
    "required": ["prompt_tokens", "total_tokens"],
}
_FINISH_REASON = {"type": "string", "enum": ["stop", "length"]}

COMPONENTS: dict[str, Any] = {
    "OpenAIError": {
        "type": "object",
        "description": "OpenAI's error shape.",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": _nullable({"type": "string", "description": "The parameter at fault, e.g. messages[0]."}),
                    "code": _nullable({"type": "string"}),
                },
                "required": ["message", "type", "param", "code"],
            },
            "request_id": {"type": "string", "description": "On server errors: quote it when reporting."},
        },
        "required": ["error"],
    },
    "OpenAIStreamOptions": {
        "type": "object",
        "properties": {"include_usage": {"type": "boolean", "default": True}},
    },
    "OpenAIJsonSchemaFormat": _JSON_SCHEMA_FORMAT,
    "OpenAIResponseFormat": {
        "oneOf": [
            _response_format("text"),
            _response_format("json_object"),
            _response_format("json_schema", json_schema_required=True),
        ]
    },
    "OpenAIChatMessage": {
        "type": "object",
        "properties": {
            "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
            "content": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}],
                "description": "Text, or content parts of type `text` (joined).",
            },
        },
        "required": ["role", "content"],
    },
    "OpenAIChatCompletionRequest": {
        "type": "object",
        "description": "Other fields OpenAI defines (user, logit_bias, ...) are accepted and ignored.",
        "properties": {
            "messages": {"type": "array", "items": _ref("OpenAIChatMessage"), "minItems": 1},
            **_GENERATION_FIELDS,
            "response_format": _nullable(_ref("OpenAIResponseFormat")),
        },
        "required": ["messages"],
    },
    "OpenAICompletionRequest": {
        "type": "object",
        "properties": {
            "prompt": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1},
                ]
            },
            **_GENERATION_FIELDS,
        },
        "required": ["prompt"],
    },
    "OpenAIEmbeddingRequest": {
        "type": "object",
        "properties": {
            "model": _nullable(
                {"type": "string", "enum": [EMBEDDING_MODEL_NAME, f"sentence-transformers/{EMBEDDING_MODEL_NAME}"]}
            ),
            "input": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_EMBEDDING_INPUTS},
                ]
            },
            "encoding_format": {"type": "string", "enum": ["float", "base64"], "default": "float"},
        },
        "required": ["input"],
    },
    "OpenAIUsage": _USAGE,
    "OpenAIChatCompletion": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["chat.completion"]},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "message": {
                            "type": "object",
                            "properties": {
                                "role": {"type": "string", "enum": ["assistant"]},
                                "content": {"type": "string"},
                            },
                            "required": ["role", "content"],
                        },
                        "logprobs": _nullable({"type": "object"}),
                        "finish_reason": _FINISH_REASON,
                    },
                    "required": ["index", "message", "finish_reason"],
                },
            },
            "usage": _nullable(_ref("OpenAIUsage")),
        },
        "required": ["id", "object", "created", "model", "choices", "usage"],
    },
    "OpenAICompletion": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["text_completion"]},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "text": {"type": "string"},
                        "logprobs": _nullable({"type": "object"}),
                        "finish_reason": _FINISH_REASON,
                    },
                    "required": ["index", "text", "finish_reason"],
                },
            },
            "usage": _nullable(_ref("OpenAIUsage")),
        },
        "required": ["id", "object", "created", "model", "choices", "usage"],
    },
    "OpenAIModel": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["model"]},
            "created": {"type": "integer"},
            "owned_by": {"type": "string"},
            "role": {"type": "string"},
            "active": {"type": "boolean"},
            "backend": {"type": "string"},
            "description": {"type": "string"},
            "dimensions": {"type": "integer"},
        },
        "required": ["id", "object", "created", "owned_by", "role", "active", "backend"],
    },
    "OpenAIModelList": {
        "type": "object",
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": _ref("OpenAIModel")},
        },
        "required": ["object", "data"],
    },
    "OpenAIEmbeddingList": {
        "type": "object",
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "object": {"type": "string", "enum": ["embedding"]},
                        "index": {"type": "integer"},
                        "embedding": {
                            "anyOf": [
                                {"type": "array", "items": {"type": "number"}},
                                {"type": "string", "description": "base64 of little-endian float32s"},
                            ]
                        },
                    },
                    "required": ["object", "index", "embedding"],
                },
            },
            "model": {"type": "string"},
            "usage": {
                "type": "object",
                "properties": {"prompt_tokens": {"type": "integer"}, "total_tokens": {"type": "integer"}},
                "required": ["prompt_tokens", "total_tokens"],
            },
        },
        "required": ["object", "data", "model", "usage"],
    },
}

_COMMON_ERRORS = {
    "401": _error_response("Missing or invalid API key."),
}
_BODY_ERRORS = {
    "400": _error_response("A field breaks a rule (`param` names it), or the body is not a JSON object."),
    "415": _error_response("The body is not sent as application/json."),
}
_GENERATION_ERRORS = {
    "404": _error_response("No such model."),
    "502": _error_response("The model failed to load, or the external server answered with an error."),
    "503": _error_response(
        "No inference worker is free within OPTIQ_INFERENCE_QUEUE_TIMEOUT, or the broker is down.", retry_after=True
    ),
}


def _generation_operation(*, operation_id: str, summary: str, request: str, answer: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [TAG],
        "security": [{"ApiKeyAuth": []}],
        "requestBody": {"required": True, "content": {JSON: {"schema": _ref(request)}}},
        "responses": {
            "200": {
                "description": "The answer; with `stream: true`, server-sent events: one `data:` chunk per "
                "piece of text, the last with `finish_reason` (and one with `usage`), then `data: [DONE]`. "
                "An error after the first chunk arrives as a `data:` chunk in the error shape.",
                "content": {JSON: {"schema": _ref(answer)}, EVENT_STREAM: {"schema": SERVER_SENT_EVENT}},
            },
            **_BODY_ERRORS,
            **_COMMON_ERRORS,
            **_GENERATION_ERRORS,
        },
    }


PATHS: dict[str, Any] = {
    "/v1/models": {
        "get": {
            "operationId": "openai_models_list",
            "summary": "The registered models, the active chat model first, with the `optiq` alias and the "
            "embedding model.",
            "tags": [TAG],
            "security": [{"ApiKeyAuth": []}],
            "responses": {
                "200": {"description": "The models.", "content": {JSON: {"schema": _ref("OpenAIModelList")}}},
                **_COMMON_ERRORS,
            },
        }
    },
    "/v1/chat/completions": {
        "post": _generation_operation(
            operation_id="openai_chat_completions_create",
            summary="A chat answer (OpenAI's chat completions).",
            request="OpenAIChatCompletionRequest",
            answer="OpenAIChatCompletion",
        )
    },
    "/v1/completions": {
        "post": _generation_operation(
            operation_id="openai_completions_create",
            summary="A plain completion of a prompt.",
            request="OpenAICompletionRequest",
            answer="OpenAICompletion",
        )
    },
    "/v1/embeddings": {
        "post": {
            "operationId": "openai_embeddings_create",
            "summary": f"Embeddings of the input texts ({EMBEDDING_MODEL_NAME}).",
            "tags": [TAG],
            "security": [{"ApiKeyAuth": []}],
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("OpenAIEmbeddingRequest")}}},
            "responses": {
                "200": {
                    "description": "One vector per input.",
                    "content": {JSON: {"schema": _ref("OpenAIEmbeddingList")}},
                },
                **_BODY_ERRORS,
                **_COMMON_ERRORS,
                "404": _error_response("The model is not the embedding model."),
            },
        }
    },
}


def add_openai_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the schema with `/v1` in it."""
    result.setdefault("paths", {}).update(PATHS)
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    return result
