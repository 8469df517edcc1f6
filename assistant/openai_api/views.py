"""OpenAI-compatible endpoints: /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings.

Plain async Django views rather than DRF, so that under ASGI (uvicorn) tokens stream to the
client as they arrive and a client that disconnects cancels the stream, which frees the worker.
Errors use OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
"""

from __future__ import annotations

import base64
import logging
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from accounts.authentication import ApiKeyLockedOut, authenticate_bearer
from accounts.throttling import throttle_wait
from assistant.api.sse import event_stream_response, sse_event
from assistant.llm import client
from assistant.llm.embeddings import EMBEDDING_DIMENSIONS, EMBEDDING_MODEL_NAME
from assistant.llm.errors import InferenceError, ModelNotFound, Unavailable
from assistant.monitoring.metrics import REQUESTS
from assistant.openai_api import requests as parse
from assistant.openai_api.model_access import check_model_access, usable_versions
from optiq_site.async_database import database_sync_to_async
from optiq_site.exception_handlers import exception_response

logger = logging.getLogger(__name__)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    429: "requests",
    413: "invalid_request_error",
    415: "invalid_request_error",
    503: "server_error",
    502: "server_error",
    500: "server_error",
}


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": ERROR_TYPES.get(status, "server_error"), "param": param, "code": code}
    }


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    return JsonResponse(error_body(status, message, param=param, code=code), status=status, headers=headers)


def inference_error_response(exc: InferenceError) -> JsonResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
    param = "model" if isinstance(exc, ModelNotFound) else getattr(exc, "param", None)
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
                    405, f"Use {method} for {request.path}", code="method_not_allowed", headers={"Allow": method}
                )
            elif isinstance(refusal := await database_sync_to_async(_authenticate)(request), JsonResponse):
                response = refusal
            elif method == "POST" and request.content_type != "application/json":
                response = error_response(
                    415,
                    f"Send the body as JSON with 'Content-Type: application/json' (got {request.content_type!r})",
                    code="unsupported_media_type",
                )
            else:
                try:
                    response, model = await view(request)
                except parse.InvalidRequest as exc:
                    response = error_response(400, str(exc), param=exc.param, code="invalid_request")
                except InferenceError as exc:
                    response = inference_error_response(exc)
                except RequestDataTooBig:
                    response = error_response(
                        413,
                        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
                        "(OPTIQ_BODY_MAX_MEMORY_BYTES).",
                        code="request_too_large",
                    )
                except Exception as exc:
                    response = exception_response(request, exc)
            REQUESTS.labels(name, model, str(response.status_code)).inc()
            return response

        return wrapper

    return decorate


def _authenticate(request: HttpRequest) -> JsonResponse | None:
    """Set request.user from the Bearer key, or the 401/429 refusal."""
    try:
        key = authenticate_bearer(request)
    except ApiKeyLockedOut as exc:
        return error_response(
            429, str(exc), code="too_many_invalid_keys", headers={"Retry-After": str(exc.retry_after)}
        )
    if key is None:
        return error_response(
            401,
            "Missing or invalid API key: send 'Authorization: Bearer <key>' "
            "(create one with `python manage.py create_api_key --user NAME`)",
            code="invalid_api_key",
        )
    wait = throttle_wait(request, user=key.user, key=key)
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        return error_response(
            429,
            f"Rate limit reached for this API key or its user: retry in {seconds} seconds "
            "(the limits are OPTIQ_THROTTLE_USER and OPTIQ_THROTTLE_API_KEY).",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(seconds)},
        )
    request.user = key.user
    return None


@openai_endpoint("models", method="GET")
async def models(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    from assistant.registry.selectors import model_version_list

    user = request.user
    versions = await database_sync_to_async(lambda: usable_versions(user, list(model_version_list())))()
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
    body_type: type[parse.ChatCompletionRequest | parse.CompletionRequest] = (
        parse.ChatCompletionRequest if kind == "chat" else parse.CompletionRequest
    )
    body = parse.parse(body_type, request.body)
    await database_sync_to_async(check_model_access)(request.user, body.model)
    deltas = await client.astream(body.generation(), model=body.model)
    ident = ("chatcmpl-" if kind == "chat" else "cmpl-") + uuid.uuid4().hex
    created = int(time.time())
    model = deltas.model
    if not body.stream:
        result = await deltas.collect()
        choice: dict[str, Any] = (
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text},
                "logprobs": None,
                "finish_reason": result.finish_reason,
            }
            if kind == "chat"
            else {"index": 0, "text": result.text, "logprobs": None, "finish_reason": result.finish_reason}
        )
        answer = {
            "id": ident,
            "object": "chat.completion" if kind == "chat" else "text_completion",
            "created": created,
            "model": model,
            "choices": [choice],
            "usage": result.usage,
        }
        return JsonResponse(answer), model

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
                yield sse_event(chunk(None, None, first=True))
            async for delta in deltas:
                if delta.finish_reason is None:
                    yield sse_event(chunk(delta.text, None))
                    continue
                yield sse_event(chunk(None, delta.finish_reason))
                if body.include_usage:
                    usage = {"id": ident, "object": obj, "created": created, "model": model, "choices": []}
                    yield sse_event({**usage, "usage": delta.usage})
            yield sse_event("[DONE]")
        except InferenceError as exc:  # after the headers went out, the error travels in the stream
            yield sse_event(error_body(exc.status, str(exc), code=exc.code))
        except Exception:
            logger.exception("%s failed mid-stream", request.path)
            yield sse_event(error_body(500, "The server failed while streaming the answer", code="server_error"))
        finally:
            await deltas.aclose()

    return event_stream_response(events()), model


@openai_endpoint("chat.completions", method="POST")
async def chat_completions(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    return await _generate(request, "chat")


@openai_endpoint("completions", method="POST")
async def completions(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    return await _generate(request, "completion")


@openai_endpoint("embeddings", method="POST")
async def embeddings(request: HttpRequest) -> tuple[HttpResponseBase, str]:
    from assistant.llm.embeddings import count_tokens, embed_texts

    body = parse.parse(parse.EmbeddingRequest, request.body)
    model = body.model or EMBEDDING_MODEL_NAME
    if model not in (EMBEDDING_MODEL_NAME, f"sentence-transformers/{EMBEDDING_MODEL_NAME}"):
        raise ModelNotFound(f"The model '{model}' does not exist; embeddings use '{EMBEDDING_MODEL_NAME}'")
    inputs, encoding = body.input, body.encoding_format
    vectors = await sync_to_async(embed_texts, thread_sensitive=False)(inputs)
    tokens = sum(await sync_to_async(count_tokens, thread_sensitive=False)(inputs))

    def encoded(vector: list[float]) -> list[float] | str:
        if encoding == "float":
            return vector
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()

    answer = {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": encoded(v)} for i, v in enumerate(vectors)],
        "model": EMBEDDING_MODEL_NAME,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return JsonResponse(answer), EMBEDDING_MODEL_NAME
