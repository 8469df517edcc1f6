"""OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings.

Plain async Django views rather than DRF, so that under ASGI (uvicorn) tokens stream to the
client as they arrive and a client that disconnects cancels the stream, which frees the worker.
Errors use OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.authentication import authenticate_bearer
from assistant.llm import client
from assistant.llm.embeddings import EMBEDDING_DIMENSIONS, EMBEDDING_MODEL_NAME
from assistant.llm.errors import InferenceError, ModelNotFound, NoWorkerAvailable
from assistant.monitoring.metrics import REQUESTS
from assistant.openai_api import requests as parse

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    503: "server_error",
    502: "server_error",
    500: "server_error",
}


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {
        "error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param, "code": code}
    }
    return JsonResponse(body, status=status, headers=headers)


def inference_error_response(exc: InferenceError) -> JsonResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, NoWorkerAvailable) else None
    param = "model" if isinstance(exc, ModelNotFound) else None
    return error_response(exc.status, str(exc), param=param, code=exc.code, headers=headers)


def openai_endpoint(name: str, *, method: str) -> Callable[..., Any]:
    """Bearer authentication, the method check, OpenAI-shaped errors and the request counter."""

    def decorate(
        view: Callable[..., Awaitable[tuple[HttpResponseBase, str]]],
    ) -> Callable[..., Awaitable[HttpResponseBase]]:
        @csrf_exempt
        @wraps(view)
        async def wrapper(request: HttpRequest) -> HttpResponseBase:
            model = "-"
            if request.method != method:
                response: HttpResponseBase = error_response(
                    405, f"Use {method} for {request.path}", code="method_not_allowed"
                )
            elif (user := await sync_to_async(authenticate_bearer)(request)) is None:
                response = error_response(
                    401,
                    "Missing or invalid API key: send 'Authorization: Bearer <key>' "
                    "(create one with `python manage.py create_api_key --user NAME`)",
                    code="invalid_api_key",
                )
            else:
                request.user = user
                try:
                    response, model = await view(request)
                except parse.InvalidRequest as exc:
                    response = error_response(400, str(exc), param=exc.param, code="invalid_request")
                except InferenceError as exc:
                    response = inference_error_response(exc)
                except ValueError as exc:  # rejected by the worker, e.g. the context length
                    response = error_response(400, str(exc), code="context_length_exceeded")
            REQUESTS.labels(name, model, str(response.status_code)).inc()
            return response

        return wrapper

    return decorate


def _sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


def _event_stream(chunks: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let tokens through reverse proxies as they come
    return response


@openai_endpoint("models", method="GET")
async def models(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    from assistant.registry.selectors import model_version_list

    versions = await sync_to_async(lambda: list(model_version_list()))()
    # The active chat model first: clients that take the first listed model get it.
    versions.sort(key=lambda v: (not v.is_active, v.role != "chat"))
    data = [
        {
            "id": v.name,
            "object": "model",
            "created": int(v.created_at.timestamp()),
            "owned_by": "optiq",
            "role": v.role,
            "active": v.is_active,
            "backend": v.backend,
        }
        for v in versions
    ]
    data.append(
        {
            "id": "optiq",
            "object": "model",
            "created": 0,
            "owned_by": "optiq",
            "role": "chat",
            "active": True,
            "backend": "alias",
            "description": "always the active chat model",
        }
    )
    data.append(
        {
            "id": EMBEDDING_MODEL_NAME,
            "object": "model",
            "created": 0,
            "owned_by": "optiq",
            "role": "embedding",
            "active": True,
            "backend": "local",
            "dimensions": EMBEDDING_DIMENSIONS,
        }
    )
    return JsonResponse({"object": "list", "data": data}), "-"


async def _generate(request: HttpRequest, kind: str) -> tuple[HttpResponseBase, str]:
    data = parse.parse_json(request.body)
    req = parse.chat_request(data) if kind == "chat" else parse.completion_request(data)
    extra = {"messages": req.messages} if kind == "chat" else {"prompt": req.prompt}
    deltas = await client.astream(kind, model=req.model, **extra, **req.params())
    ident = ("chatcmpl-" if kind == "chat" else "cmpl-") + uuid.uuid4().hex
    created = int(time.time())
    model = deltas.model
    if not req.stream:
        parts: list[str] = []
        last = client.ChatDelta(text="")
        async for delta in deltas:
            parts.append(delta.text)
            last = delta
        text = "".join(parts)
        choice: dict[str, Any] = (
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": None,
                "finish_reason": last.finish_reason,
            }
            if kind == "chat"
            else {"index": 0, "text": text, "logprobs": None, "finish_reason": last.finish_reason}
        )
        body = {
            "id": ident,
            "object": "chat.completion" if kind == "chat" else "text_completion",
            "created": created,
            "model": model,
            "choices": [choice],
            "usage": last.usage,
        }
        return JsonResponse(body), model

    obj = "chat.completion.chunk" if kind == "chat" else "text_completion"

    def chunk(text: str | None, finish: str | None, *, first: bool = False) -> dict[str, Any]:
        if kind == "chat":
            delta: dict[str, Any] = (
                {"role": "assistant", "content": ""} if first else ({"content": text} if text else {})
            )
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        return {"id": ident, "object": obj, "created": created, "model": model, "choices": [choice]}

    async def events() -> AsyncIterator[bytes]:
        try:
            if kind == "chat":
                yield _sse(chunk(None, None, first=True))
            async for delta in deltas:
                if delta.finish_reason is None:
                    yield _sse(chunk(delta.text, None))
                    continue
                yield _sse(chunk(None, delta.finish_reason))
                if req.include_usage:
                    yield _sse(
                        {
                            "id": ident,
                            "object": obj,
                            "created": created,
                            "model": model,
                            "choices": [],
                            "usage": delta.usage,
                        }
                    )
            yield _sse("[DONE]")
        except InferenceError as exc:  # after the headers went out, the error travels in the stream
            yield _sse({"error": {"message": str(exc), "type": "server_error", "param": None, "code": exc.code}})
        finally:
            await deltas.aclose()

    return _event_stream(events()), model


@openai_endpoint("chat.completions", method="POST")
async def chat_completions(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    return await _generate(request, "chat")


@openai_endpoint("completions", method="POST")
async def completions(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    return await _generate(request, "completion")


@openai_endpoint("embeddings", method="POST")
async def embeddings(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    from assistant.llm.embeddings import count_tokens, embed_texts

    data = parse.parse_json(request.body)
    model = data.get("model") or EMBEDDING_MODEL_NAME
    if model not in (EMBEDDING_MODEL_NAME, f"sentence-transformers/{EMBEDDING_MODEL_NAME}"):
        raise ModelNotFound(f"The model '{model}' does not exist; embeddings use '{EMBEDDING_MODEL_NAME}'")
    inputs = parse.embedding_inputs(data)
    encoding = data.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise parse.InvalidRequest("'encoding_format' must be 'float' or 'base64'", param="encoding_format")
    vectors = await sync_to_async(embed_texts, thread_sensitive=False)(inputs)
    tokens = sum(await sync_to_async(count_tokens, thread_sensitive=False)(inputs))

    def encoded(vector: list[float]) -> list[float] | str:
        if encoding == "float":
            return vector
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()

    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encoded(v)} for i, v in enumerate(vectors)],
        "model": EMBEDDING_MODEL_NAME,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return JsonResponse(body), EMBEDDING_MODEL_NAME
