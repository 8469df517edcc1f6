"""The web side of inference: send a request to the inference workers (or an external server)
and stream the answer back. Used by the OpenAI-compatible API and the assistant's chat service.

Flow for the local backend:
1. resolve the model name to a version (404 when unknown);
2. fail fast with 503 when no inference worker has a heartbeat;
3. subscribe to the request's channel, then enqueue the task on the `inference` queue;
4. wait for the worker's ``started`` (at most OPTIQ_INFERENCE_QUEUE_TIMEOUT: 503 otherwise);
5. relay ``token`` messages until ``done``. Closing the stream unsubscribes, which the worker
   sees on its next token and stops, freeing itself for the next request.

``chat_stream``/``chat_complete`` are synchronous (views, services, shell);
``achat_stream``/``astream`` are the asyncio twins the ASGI streaming views use. Both raise
ModelNotFound / NoWorkerAvailable before the first token, so callers can answer 404/503.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from assistant.llm import external, streams
from assistant.llm.errors import BackendError, InferenceError, ModelNotFound, NoWorkerAvailable
from assistant.monitoring import metrics


@dataclass
class ChatDelta:
    text: str
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    model: str | None = None


@dataclass
class ChatResult:
    text: str
    finish_reason: str | None
    usage: dict[str, int] | None
    model: str


@dataclass
class _Timing:
    """Per-request measurements that end up in /metrics."""

    model: str
    started: float = field(default_factory=time.perf_counter)
    enqueued: float = 0.0
    first_token: float = 0.0

    def on_started(self) -> None:
        if self.enqueued:
            metrics.QUEUE_WAIT.labels(self.model).observe(time.perf_counter() - self.enqueued)

    def on_token(self) -> None:
        if not self.first_token:
            self.first_token = time.perf_counter()
            metrics.TIME_TO_FIRST_TOKEN.labels(self.model).observe(self.first_token - self.started)

    def on_done(self, usage: dict[str, int] | None) -> None:
        if not usage:
            return
        metrics.PROMPT_TOKENS.labels(self.model).inc(usage.get("prompt_tokens", 0))
        generated = usage.get("completion_tokens", 0)
        metrics.GENERATED_TOKENS.labels(self.model).inc(generated)
        elapsed = time.perf_counter() - (self.first_token or self.started)
        if generated > 1 and elapsed > 0:
            metrics.TOKENS_PER_SECOND.labels(self.model).observe((generated - 1) / elapsed)


def resolve_version(model: str | None, *, role: str = "chat") -> Any:
    from assistant.registry.selectors import model_for_request

    version = model_for_request(model, role=role)
    if version is None:
        if model:
            raise ModelNotFound(f"The model '{model}' does not exist")
        raise ModelNotFound(f"No {role} model is active: register one with `python manage.py register_model`")
    return version


def _params(
    kind: str,
    *,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: list[str] | None,
    seed: int | None,
    messages: list[dict] | None = None,
    prompt: str | None = None,
    json_schema: dict[str, Any] | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "kind": kind,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
        "stop": list(stop or []),
        "seed": seed,
    }
    if kind == "chat":
        params["messages"] = [{"role": m["role"], "content": m["content"]} for m in messages or []]
    else:
        params["prompt"] = prompt or ""
    if json_schema is not None:
        params["json_schema"] = json_schema  # the worker decodes under its grammar
    return params


def _queue_timeout() -> float:
    return float(settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT)


def _retry_after() -> int:
    return max(1, min(60, int(_queue_timeout())))


def _no_worker() -> NoWorkerAvailable:
    return NoWorkerAvailable(
        "No inference worker is running: start one with `celery -A optiq_site worker -Q inference`",
        retry_after=_retry_after(),
    )


def _enqueue(request_id: str, version: Any, params: dict[str, Any]) -> None:
    from assistant.tasks.inference import generate

    generate.apply_async((request_id, {**params, "version_id": version.pk}), expires=_queue_timeout() + 5)


def _raise_error(message: dict[str, Any]) -> None:
    status = int(message.get("status", 500))
    text = message.get("message", "inference failed")
    if status == 404:
        raise ModelNotFound(text)
    if status == 400:
        raise ValueError(text)
    raise BackendError(text)


# --- synchronous -----------------------------------------------------------------------------


def _local_events(version: Any, params: dict[str, Any], timing: _Timing) -> Iterator[dict[str, Any]]:
    conn = streams.connection()
    if not streams.live_workers(conn):
        raise _no_worker()
    request_id = uuid.uuid4().hex
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(streams.channel(request_id))
    try:
        timing.enqueued = time.perf_counter()
        _enqueue(request_id, version, params)
        deadline = time.monotonic() + _queue_timeout()
        started = False
        while True:
            timeout = max(0.0, deadline - time.monotonic()) if not started else 300.0
            message = pubsub.get_message(timeout=timeout)
            if message is None:
                if not started and time.monotonic() >= deadline:
                    raise NoWorkerAvailable(
                        f"All inference workers stayed busy for {_queue_timeout():g} s", retry_after=_retry_after()
                    )
                if started:
                    raise BackendError("the inference worker stopped answering")
                continue
            event = streams.decode(message["data"])
            if event["type"] == "started":
                started = True
            elif event["type"] == "error":
                _raise_error(event)
            yield event
            if event["type"] == "done":
                return
    finally:
        pubsub.close()  # unsubscribing tells the worker nobody listens any more


def _events(version: Any, params: dict[str, Any], timing: _Timing) -> Iterator[dict[str, Any]]:
    if version.backend == "external":
        return external.stream(version, params["kind"], params)
    return _local_events(version, params, timing)


class _DeltaStream:
    """Iterator of ChatDelta whose setup (resolve, queue wait) already happened."""

    def __init__(self, events: Iterator[dict[str, Any]], first: dict[str, Any], timing: _Timing) -> None:
        self._events = events
        self._timing = timing
        self.model: str = first.get("model") or timing.model
        self._finish: str | None = None
        self._usage: dict[str, int] | None = None
        self._finished = False

    def __iter__(self) -> _DeltaStream:
        return self

    def __next__(self) -> ChatDelta:
        if self._finished:
            raise StopIteration
        for event in self._events:
            kind = event["type"]
            if kind == "token":
                self._timing.on_token()
                return ChatDelta(text=event["text"], model=self.model)
            if kind == "finish":
                self._finish = event["finish_reason"]
            elif kind == "usage":
                self._usage = event["usage"]
            elif kind == "done":
                self._finish, self._usage = event.get("finish_reason"), event.get("usage")
                break
        self._finished = True
        self._timing.on_done(self._usage)
        self.close()
        return ChatDelta(text="", finish_reason=self._finish or "stop", usage=self._usage, model=self.model)

    def close(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()


def stream(kind: str, *, model: str | None, **params: Any) -> _DeltaStream:
    version = resolve_version(model)
    timing = _Timing(model=version.name)
    events = _events(version, _params(kind, **params), timing)
    first = next(events)  # raises NoWorkerAvailable / ModelNotFound / BackendError before any token
    timing.on_started()
    return _DeltaStream(events, first, timing)


def chat_stream(
    *,
    messages: list[dict],
    model: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.7,
    top_p: float = 0.95,
    stop: list[str] | None = None,
    seed: int | None = None,
) -> _DeltaStream:
    """Stream a chat answer: ChatDelta per piece of text, then a last one with finish_reason and usage.
    Closing the stream early stops the generation."""
    return stream(
        "chat",
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        seed=seed,
    )


def chat_complete(
    *,
    messages: list[dict],
    model: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.7,
    top_p: float = 0.95,
    stop: list[str] | None = None,
    seed: int | None = None,
    json_schema: dict[str, Any] | None = None,
) -> ChatResult:
    """The whole answer at once. With `json_schema` the local worker decodes under the grammar
    llama.cpp builds from it, so the text is JSON that the schema admits."""
    deltas = stream(
        "chat",
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        seed=seed,
        json_schema=json_schema,
    )
    parts: list[str] = []
    last = ChatDelta(text="")
    for delta in deltas:
        parts.append(delta.text)
        last = delta
    return ChatResult(text="".join(parts), finish_reason=last.finish_reason, usage=last.usage, model=deltas.model)


# --- asyncio ----------------------------------------------------------------------------------


async def _alocal_events(version: Any, params: dict[str, Any], timing: _Timing) -> AsyncIterator[dict[str, Any]]:
    import asyncio

    import redis.asyncio as aredis

    if not await asyncio.to_thread(streams.live_workers, streams.connection()):
        raise _no_worker()
    request_id = uuid.uuid4().hex
    conn = aredis.Redis.from_url(settings.REDIS_URL)
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(streams.channel(request_id))
        timing.enqueued = time.perf_counter()
        await asyncio.to_thread(_enqueue, request_id, version, params)
        deadline = time.monotonic() + _queue_timeout()
        started = False
        while True:
            timeout = max(0.0, deadline - time.monotonic()) if not started else 300.0
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if message is None:
                if not started and time.monotonic() >= deadline:
                    raise NoWorkerAvailable(
                        f"All inference workers stayed busy for {_queue_timeout():g} s", retry_after=_retry_after()
                    )
                if started:
                    raise BackendError("the inference worker stopped answering")
                continue
            event = streams.decode(message["data"])
            if event["type"] == "started":
                started = True
            elif event["type"] == "error":
                _raise_error(event)
            yield event
            if event["type"] == "done":
                return
    finally:
        # Runs on normal end, on error and when the client disconnects (the task is cancelled).
        await pubsub.aclose()
        await conn.aclose()


class AsyncDeltaStream:
    def __init__(self, events: AsyncIterator[dict[str, Any]], first: dict[str, Any], timing: _Timing) -> None:
        self._events = events
        self._timing = timing
        self.model: str = first.get("model") or timing.model
        self._finished = False

    def __aiter__(self) -> AsyncDeltaStream:
        return self

    async def __anext__(self) -> ChatDelta:
        if self._finished:
            raise StopAsyncIteration
        finish: str | None = None
        usage: dict[str, int] | None = None
        async for event in self._events:
            kind = event["type"]
            if kind == "token":
                self._timing.on_token()
                return ChatDelta(text=event["text"], model=self.model)
            if kind == "finish":
                finish = event["finish_reason"]
            elif kind == "usage":
                usage = event["usage"]
            elif kind == "done":
                finish, usage = event.get("finish_reason"), event.get("usage")
                break
        self._finished = True
        self._timing.on_done(usage)
        await self.aclose()
        return ChatDelta(text="", finish_reason=finish or "stop", usage=usage, model=self.model)

    async def aclose(self) -> None:
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()


async def astream(kind: str, *, model: str | None, **params: Any) -> AsyncDeltaStream:
    version = await sync_to_async(resolve_version)(model)
    timing = _Timing(model=version.name)
    payload = _params(kind, **params)
    events: AsyncIterator[dict[str, Any]] = (
        external.astream(version, kind, payload)
        if version.backend == "external"
        else _alocal_events(version, payload, timing)
    )
    try:
        first = await events.__anext__()
    except StopAsyncIteration:
        raise BackendError("the backend ended the stream before starting") from None
    timing.on_started()
    return AsyncDeltaStream(events, first, timing)


async def achat_stream(
    *,
    messages: list[dict],
    model: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.7,
    top_p: float = 0.95,
    stop: list[str] | None = None,
    seed: int | None = None,
) -> AsyncDeltaStream:
    """The asyncio twin of chat_stream, for ASGI streaming responses: ``async for delta in await achat_stream(...)``."""
    return await astream(
        "chat",
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        stop=stop,
        seed=seed,
    )


__all__ = [
    "AsyncDeltaStream",
    "ChatDelta",
    "ChatResult",
    "InferenceError",
    "ModelNotFound",
    "NoWorkerAvailable",
    "achat_stream",
    "astream",
    "chat_complete",
    "chat_stream",
    "resolve_version",
    "stream",
]
