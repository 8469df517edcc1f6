"""The web side of inference: send a request to the inference workers (or an external server)
and stream the answer back. One client, asynchronous at its core: the ASGI views and the chat
service await it; ``chat_complete`` is its synchronous entry point (management commands, the
shell, evaluation code, tests), the same code run to the end through ``async_to_sync``.

Flow for the local backend (``_worker_events``):
1. resolve the model name to a version (404 when unknown);
2. within OPTIQ_BROKER_TIMEOUT_S: fail fast with 503 when no inference worker has a heartbeat,
   subscribe to the request's channel, enqueue the task on the `inference` queue; a broker that
   is down or hangs is a 503 (BrokerUnavailable) instead of a request that hangs;
3. wait for the worker's ``started`` (at most OPTIQ_INFERENCE_QUEUE_TIMEOUT: 503 otherwise);
4. relay ``token`` messages until ``done``. While no message comes, look at the serving worker's
   heartbeat every half second: a worker that missed WORKER_LOST_SECONDS of beats is dead
   (WorkerLost). Before the first token the request is sent once more, to another worker, and
   the caller does not notice; after it, the stream ends with the error.
Closing the stream unsubscribes, which the worker sees on its next token and stops, freeing
itself for the next request.

Errors before the first token (ModelNotFound, Unavailable, RequestRejected, BackendError) are
raised when the stream is opened, so callers can still answer with an HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from asgiref.sync import async_to_sync
from django.conf import settings
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from assistant.llm import external, streams
from assistant.llm.errors import (
    BackendError,
    BrokerUnavailable,
    InferenceError,
    ModelNotFound,
    NoWorkerAvailable,
    RequestRejected,
    WorkerLost,
)
from assistant.llm.sampling import Generation, Sampling
from assistant.monitoring import metrics
from optiq_site.async_database import database_sync_to_async

logger = logging.getLogger(__name__)

# How often the web side looks at the serving worker's heartbeat while no token comes.
LIVENESS_POLL_SECONDS = 0.5
# A live worker that sends nothing for this long (a wedged model) ends the stream.
SILENCE_LIMIT_SECONDS = 300.0
BROKER_ERRORS = (TimeoutError, OSError, RedisError, KombuError)


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
    worker: str = ""


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


def _queue_timeout() -> float:
    return float(settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT)


def _retry_after() -> int:
    return max(1, min(60, int(_queue_timeout())))


def _no_worker() -> NoWorkerAvailable:
    return NoWorkerAvailable(
        "No inference worker is running: start one with `celery -A optiq_site worker -Q inference`",
        retry_after=_retry_after(),
    )


def _broker_down(exc: BaseException) -> BrokerUnavailable:
    detail = str(exc) or type(exc).__name__
    return BrokerUnavailable(
        f"The broker did not answer within {streams.broker_timeout():g} s ({detail}): check REDIS_URL and Redis",
        retry_after=5,
    )


def _enqueue(request_id: str, generation: Generation) -> None:
    """Publish the task (in a thread: Celery's publish is synchronous). The bounded publish retry
    policy and the broker's socket timeouts (settings: OPTIQ_BROKER_TIMEOUT_S) keep it short."""
    from assistant.tasks.inference import generate

    generate.apply_async((request_id, generation.model_dump(mode="json")), expires=_queue_timeout() + 5, retry=True)


def _raise_error(event: dict[str, Any]) -> NoReturn:
    status = int(event.get("status", 500))
    text = event.get("message", "inference failed")
    if status == 404:
        raise ModelNotFound(text)
    if status == 400:
        raise RequestRejected(text, code=event.get("code") or "invalid_request", param=event.get("param"))
    raise BackendError(text)


async def _worker_events(version: Any, generation: Generation, timing: _Timing) -> AsyncIterator[dict[str, Any]]:
    """The worker protocol's events for one request: ``started``, ``token``..., ``done``."""
    request_id = uuid.uuid4().hex
    conn = streams.async_connection()
    pubsub = conn.pubsub()
    try:
        try:
            async with asyncio.timeout(streams.broker_timeout()):
                if not await streams.alive_worker_count(conn):
                    raise _no_worker()
                await pubsub.subscribe(streams.channel(request_id))
                # Wait for the confirmation: the worker's `started` must find the subscription.
                while (await pubsub.get_message(timeout=streams.broker_timeout())) is None:
                    pass
                timing.enqueued = time.perf_counter()
                await asyncio.to_thread(_enqueue, request_id, generation.model_copy(update={"version_id": version.pk}))
        except BROKER_ERRORS as exc:
            raise _broker_down(exc) from exc

        deadline = time.monotonic() + _queue_timeout()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoWorkerAvailable(
                    f"All inference workers stayed busy for {_queue_timeout():g} s", retry_after=_retry_after()
                )
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is None:
                continue
            event = streams.decode(message["data"])
            if event["type"] == "error":
                _raise_error(event)
            if event["type"] == "started":
                yield event
                break
        worker = event.get("worker", "")

        heard = time.monotonic()
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=LIVENESS_POLL_SECONDS)
            if message is None:
                try:
                    since_beat = await streams.seconds_since_beat(conn, worker)
                except BROKER_ERRORS as exc:
                    raise _broker_down(exc) from exc
                if since_beat is None or since_beat > streams.WORKER_LOST_SECONDS:
                    raise WorkerLost(f"the inference worker {worker} stopped (no heartbeat) while answering")
                if time.monotonic() - heard > SILENCE_LIMIT_SECONDS:
                    raise BackendError(f"the inference worker {worker} sent nothing for {SILENCE_LIMIT_SECONDS:g} s")
                continue
            heard = time.monotonic()
            event = streams.decode(message["data"])
            if event["type"] == "error":
                _raise_error(event)
            yield event
            if event["type"] == "done":
                return
    finally:
        # Runs on the end, on an error, and when the caller goes away (its task is cancelled or
        # the stream closed): leaving the channel tells the worker that nobody listens any more.
        with contextlib.suppress(Exception):
            await pubsub.aclose()
        with contextlib.suppress(Exception):
            await conn.aclose()


class ChatStream:
    """The answer as it streams: a ChatDelta per piece of text, then a last one with
    finish_reason and usage. ``aclose()`` early stops the generation."""

    def __init__(self, open_events: Callable[[], AsyncIterator[dict[str, Any]]], timing: _Timing) -> None:
        self._open_events = open_events
        self._timing = timing
        self._events: AsyncIterator[dict[str, Any]] | None = None
        self._tokens = 0
        self._finish: str | None = None
        self._usage: dict[str, int] | None = None
        self._finished = False
        self.model: str = timing.model
        self.worker = ""
        self.retried = False

    async def start(self) -> None:
        """Open the backend's stream and wait until a worker started on it."""
        self._events = self._open_events()
        try:
            first = await anext(self._events)
        except StopAsyncIteration:
            raise BackendError("the backend ended the stream before starting") from None
        self.model = first.get("model") or self.model
        self.worker = first.get("worker") or ""
        self._timing.on_started()

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> ChatDelta:
        if self._finished or self._events is None:
            raise StopAsyncIteration
        try:
            while True:
                try:
                    event = await anext(self._events)
                except StopAsyncIteration:
                    break
                except WorkerLost:
                    if self._tokens or self.retried:
                        raise
                    # Nothing reached the caller yet: ask another worker, once.
                    logger.warning("inference worker %s lost before the first token; retrying once", self.worker)
                    self.retried = True
                    await self._close_events()
                    await self.start()
                    continue
                kind = event["type"]
                if kind == "token":
                    self._tokens += 1
                    self._timing.on_token()
                    return ChatDelta(text=event["text"], model=self.model)
                if kind == "finish":
                    self._finish = event["finish_reason"]
                elif kind == "usage":
                    self._usage = event["usage"]
                elif kind == "done":
                    self._finish, self._usage = event.get("finish_reason"), event.get("usage")
                    self.worker = event.get("worker") or self.worker
                    break
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        self._timing.on_done(self._usage)
        return ChatDelta(text="", finish_reason=self._finish or "stop", usage=self._usage, model=self.model)

    async def collect(self) -> ChatResult:
        """Read the whole answer."""
        parts: list[str] = []
        last = ChatDelta(text="")
        try:
            async for delta in self:
                parts.append(delta.text)
                last = delta
        finally:
            await self.aclose()
        return ChatResult(
            text="".join(parts),
            finish_reason=last.finish_reason,
            usage=last.usage,
            model=self.model,
            worker=self.worker,
        )

    async def _close_events(self) -> None:
        events, self._events = self._events, None
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()

    async def aclose(self) -> None:
        self._finished = True
        await self._close_events()


async def require_workers(version: Any) -> None:
    """Raise Unavailable now when the version's inference workers could not take a request (none
    beats, or the broker does not answer): lets a caller fail fast before slow preparation."""
    if version.backend == "external":
        return
    conn = streams.async_connection()
    try:
        async with asyncio.timeout(streams.broker_timeout()):
            alive = await streams.alive_worker_count(conn)
    except BROKER_ERRORS as exc:
        raise _broker_down(exc) from exc
    finally:
        with contextlib.suppress(Exception):
            await conn.aclose()
    if not alive:
        raise _no_worker()


async def astream(generation: Generation, *, model: str | None = None, role: str = "chat") -> ChatStream:
    """Open a stream for `generation` on the version `model` names (None or an alias: the active
    one of `role`)."""
    version = await database_sync_to_async(resolve_version)(model, role=role)
    timing = _Timing(model=version.name)

    def open_events() -> AsyncIterator[dict[str, Any]]:
        if version.backend == "external":
            return external.events(version, generation)
        return _worker_events(version, generation, timing)

    stream = ChatStream(open_events, timing)
    await stream.start()
    return stream


async def achat_stream(
    *,
    messages: list[dict[str, str]],
    model: str | None = None,
    json_schema: dict | None = None,
    role: str = "chat",
    **sampling: Any,
) -> ChatStream:
    """Stream a chat answer: ``async for delta in await achat_stream(...)``. `sampling` takes the
    fields of Sampling (max_tokens, temperature, top_p, stop, seed); `json_schema` makes the
    answer JSON matching that schema; `role` is the registry role `model` is looked up in (the
    router's versions are not chat models)."""
    return await astream(
        Generation.chat(messages, Sampling(json_schema=json_schema, **sampling)), model=model, role=role
    )


async def achat_complete(
    *,
    messages: list[dict[str, str]],
    model: str | None = None,
    json_schema: dict | None = None,
    role: str = "chat",
    **sampling: Any,
) -> ChatResult:
    stream = await achat_stream(messages=messages, model=model, json_schema=json_schema, role=role, **sampling)
    return await stream.collect()


def chat_complete(
    *,
    messages: list[dict[str, str]],
    model: str | None = None,
    json_schema: dict | None = None,
    role: str = "chat",
    **sampling: Any,
) -> ChatResult:
    """The whole chat answer, from synchronous code (not from inside an event loop: await
    ``achat_complete`` there)."""
    return async_to_sync(achat_complete)(messages=messages, model=model, json_schema=json_schema, role=role, **sampling)


__all__ = [
    "ChatDelta",
    "ChatResult",
    "ChatStream",
    "InferenceError",
    "achat_complete",
    "achat_stream",
    "astream",
    "chat_complete",
    "require_workers",
    "resolve_version",
]
