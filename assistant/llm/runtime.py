"""The inference worker's side: a warm llama-cpp-python model per process, swapped on activation.

Each Celery worker process keeps one loaded ``Llama`` per role (the chat model, and the router
when one is active) keyed by what it depends on (GGUF path, LoRA adapter and scale, load
parameters). A request names the version it wants (the web side resolves "the active one");
when that differs from what is loaded for its role, the new model is loaded and replaces the
old one for later requests. One background thread beats the process's
heartbeat every second and does nothing else, so a slow model load never makes a live worker
look dead; another preloads a newly activated version, so the first request after an
activation usually finds it warm.

A request with a JSON schema is decoded under llama.cpp's grammar for that schema (compiled
once per schema and kept), so its output parses.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from pydantic import ValidationError

from assistant.llm import streams
from assistant.llm.errors import BackendError, ModelNotFound, RequestRejected
from assistant.llm.sampling import Generation
from llm_runtime.chat_formats import (
    END_OF_TURN,
    Segment,
    masked_messages,
    render_segments,
    segments_around_stand_ins,
)
from llm_runtime.llama_loader import load_llama

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    key: tuple[object, ...]
    version_id: int
    name: str
    llm: Any
    chat_format: str
    template: Any  # llama_cpp Jinja2ChatFormatter when the GGUF has its own chat template


_lock = threading.Lock()
_loaded: LoadedModel | None = None  # the chat model
# The other roles' models (the router), so that a question read by the router and answered by
# the chat model does not reload either.
_loaded_by_role: dict[str, LoadedModel] = {}
_worker_id = ""
_heartbeat_started = False
_heartbeat_stop = threading.Event()
_heartbeat_threads: list[threading.Thread] = []
HEARTBEAT_THREAD = "optiq-inference-heartbeat"


def worker_id() -> str:
    global _worker_id
    if not _worker_id:
        _worker_id = f"{socket.gethostname()}:{os.getpid()}"
    return _worker_id


def _load(version: Any) -> LoadedModel:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    threads = version.n_threads or settings.OPTIQ_LLM_THREADS or None
    started = time.monotonic()
    try:
        llm = load_llama(
            model_path=version.path,
            lora_path=version.lora_path or None,
            lora_scale=version.lora_scale,
            n_ctx=version.n_ctx,
            n_gpu_layers=version.n_gpu_layers,
            n_threads=threads,
            verbose=False,
        )
    except (ValueError, OSError, RuntimeError) as exc:
        raise BackendError(f"cannot load {version.name} from {version.path}: {exc}") from exc
    template = None
    if not version.chat_format and llm.metadata.get("tokenizer.chat_template"):
        eos, bos = llm.token_eos(), llm.token_bos()
        template = Jinja2ChatFormatter(
            template=llm.metadata["tokenizer.chat_template"],
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )
    logger.info("loaded model %s (version %s) in %.2f s", version.name, version.pk, time.monotonic() - started)
    return LoadedModel(version.load_key(), version.pk, version.name, llm, version.chat_format, template)


def model_for(version: Any) -> LoadedModel:
    """The loaded model for `version`, loading it (and dropping the previous one of its role) when needed."""
    global _loaded
    role = getattr(version, "role", "chat") or "chat"
    with _lock:
        current = _loaded if role == "chat" else _loaded_by_role.get(role)
        if current is not None and current.key == version.load_key():
            if current.version_id != version.pk:  # same weights registered under another name
                current = LoadedModel(
                    current.key, version.pk, version.name, current.llm, version.chat_format, current.template
                )
                _keep(role, current)
            return current
        # The old object stays alive for whoever still holds it; the cache moves on.
        _keep(role, None)
        loaded = _load(version)
        _keep(role, loaded)
        if role == "chat":
            try:
                streams.connection().hset(streams.LOADED_KEY, worker_id(), version.name)
            except Exception:  # the heartbeat reports it again shortly
                logger.warning("could not record the loaded model", exc_info=True)
        return loaded


def _keep(role: str, model: LoadedModel | None) -> None:
    global _loaded
    if role == "chat":
        _loaded = model
    elif model is None:
        _loaded_by_role.pop(role, None)
    else:
        _loaded_by_role[role] = model


@lru_cache(maxsize=64)
def _grammar(schema_key: str) -> Any:
    """llama.cpp's grammar for a JSON schema (in its canonical spelling)."""
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema_key, verbose=False)
    except Exception as exc:  # the converter raises plain exceptions on schemas it cannot express
        raise RequestRejected(
            f"the JSON schema cannot be turned into a grammar: {exc}",
            code="invalid_json_schema",
            param="response_format",
        ) from exc


def _template_segments(template: Any, messages: list[dict[str, str]]) -> tuple[list[Segment], Any]:
    """The template's output as markup and message text, and its formatter result (stops, BOS)."""
    formatted = template(messages=masked_messages(messages))  # type: ignore[arg-type]
    return segments_around_stand_ins(formatted.prompt, messages), formatted  # type: ignore[arg-type]


def _tokenize_segments(llm: Any, segments: list[Segment], *, add_bos: bool) -> list[int]:
    """Markup with its special tokens, text with none: `<start_of_turn>`, `<|im_start|>`,
    `<|eot_id|>` or any other token the tokenizer treats as special, written inside a message
    or a document, stays text."""
    tokens: list[int] = []
    for index, segment in enumerate(segments):
        tokens += llm.tokenize(segment.text.encode(), add_bos=add_bos and index == 0, special=segment.is_markup)
    if not segments and add_bos:
        tokens = llm.tokenize(b"", add_bos=True, special=True)
    return tokens


def _prompt_tokens(model: LoadedModel, generation: Generation) -> tuple[list[int], list[str]]:
    llm = model.llm
    if generation.kind == "completion":
        return llm.tokenize(generation.prompt.encode(), add_bos=True, special=False), []
    messages = generation.message_dicts()
    if model.template is not None:
        segments, formatted = _template_segments(model.template, messages)
        tokens = _tokenize_segments(llm, segments, add_bos=not formatted.added_special)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, [s for s in stops if s]
    segments = render_segments(
        model.chat_format,
        [{"role": m.role, "content": m.content} for m in generation.messages],
        add_generation_prompt=True,
    )
    return _tokenize_segments(llm, segments, add_bos=True), [END_OF_TURN[model.chat_format]]


def generate(model: LoadedModel, generation: Generation) -> Iterator[dict[str, Any]]:
    """Yield ``{"text": ...}`` per token, then ``{"finish_reason", "usage"}``."""
    llm = model.llm
    sampling = generation.sampling
    tokens, stops = _prompt_tokens(model, generation)
    max_tokens = sampling.max_tokens
    if sampling.max_tokens_fit:
        max_tokens = max(1, min(max_tokens, llm.n_ctx() - len(tokens)))
    if len(tokens) + max_tokens > llm.n_ctx():
        # llama.cpp would fail mid-way; say it up front in OpenAI's terms.
        raise RequestRejected(
            f"the prompt ({len(tokens)} tokens) plus max_tokens ({max_tokens}) exceeds the context length "
            f"of {model.name} ({llm.n_ctx()} tokens)",
            code="context_length_exceeded",
            param="messages" if sampling.max_tokens_fit else "max_tokens",
        )
    schema_key = sampling.schema_key()
    grammar = _grammar(schema_key) if schema_key is not None else None
    if sampling.seed is not None:
        # Reusing the cached prompt prefix changes the logits in the last bits; a seeded request
        # must repeat exactly, so it evaluates its whole prompt afresh.
        llm.reset()
    chunks = llm.create_completion(
        prompt=tokens,
        max_tokens=max_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        stop=[*stops, *sampling.stop],
        seed=sampling.seed,
        grammar=grammar,
        stream=True,
    )
    text_parts: list[str] = []
    finish_reason = None
    for chunk in chunks:
        choice = chunk["choices"][0]
        if choice["text"]:
            text_parts.append(choice["text"])
            yield {"text": choice["text"]}
        finish_reason = choice.get("finish_reason") or finish_reason
    text = "".join(text_parts)
    completion_tokens = len(llm.tokenize(text.encode(), add_bos=False, special=True)) if text else 0
    if finish_reason == "stop":
        completion_tokens += 1  # the end-of-turn token itself was generated too
    yield {
        "finish_reason": finish_reason or "stop",
        "usage": {
            "prompt_tokens": len(tokens),
            "completion_tokens": completion_tokens,
            "total_tokens": len(tokens) + completion_tokens,
        },
    }


def run_request(request_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Serve one request from the queue, publishing to its channel; stop when nobody listens."""
    from assistant.models import ModelVersion

    ensure_heartbeat()
    conn = streams.connection()
    room = streams.channel(request_id)
    try:
        generation = Generation.model_validate(payload)
    except ValidationError as exc:  # a web process of another release: say so rather than hang it
        conn.publish(room, streams.encode("error", status=400, code="invalid_request", message=str(exc)))
        return {"status": "rejected"}
    close_old_connections()
    version = ModelVersion.objects.filter(pk=generation.version_id or 0).first()
    if version is None:
        conn.publish(
            room,
            streams.encode(
                "error",
                status=404,
                code=ModelNotFound.code,
                message=f"model version {generation.version_id} no longer exists",
            ),
        )
        return {"status": "missing"}
    # Busy before anyone hears it started, so that whoever sees `started` finds it busy.
    conn.hset(streams.BUSY_KEY, worker_id(), request_id)
    sent = 0
    try:
        schema_key = generation.sampling.schema_key()
        if schema_key is not None:
            _grammar(schema_key)  # a schema llama.cpp cannot express is refused before anything starts
        if conn.publish(room, streams.encode("started", worker=worker_id(), model=version.name)) == 0:
            return {"status": "abandoned"}  # the client stopped waiting before a worker was free
        model = model_for(version)
        for event in generate(model, generation):
            if "text" in event:
                if conn.publish(room, streams.encode("token", text=event["text"])) == 0:
                    logger.info("request %s: client gone after %d tokens, stopping", request_id, sent)
                    return {"status": "cancelled", "tokens": sent}
                sent += 1
            else:
                conn.publish(room, streams.encode("done", model=version.name, worker=worker_id(), **event))
                return {"status": "done", "tokens": sent}
    except RequestRejected as exc:
        conn.publish(room, streams.encode("error", status=400, code=exc.code, param=exc.param, message=str(exc)))
        return {"status": "rejected"}
    except BackendError as exc:
        conn.publish(room, streams.encode("error", status=exc.status, code=exc.code, message=str(exc)))
        return {"status": "failed"}
    except Exception as exc:
        logger.exception("request %s failed", request_id)
        conn.publish(room, streams.encode("error", status=500, code="inference_error", message=str(exc)))
        raise
    finally:
        conn.hdel(streams.BUSY_KEY, worker_id())
    return {"status": "done", "tokens": sent}


def _beat_loop() -> None:
    conn = streams.connection()
    while not _heartbeat_stop.is_set():
        try:
            streams.worker_heartbeat(conn, worker_id())
        except Exception:
            logger.warning("inference heartbeat failed", exc_info=True)
        _heartbeat_stop.wait(streams.HEARTBEAT_SECONDS)


def _preload_loop() -> None:
    from assistant.registry.selectors import active_model

    conn = streams.connection()
    while not _heartbeat_stop.is_set():
        try:
            close_old_connections()
            active = active_model(role="chat")
            current = _loaded
            if (
                active is not None
                and active.backend == "local"
                and (current is None or current.key != active.load_key())
            ):
                # Warm the newly active version between requests (the lock keeps requests safe).
                model_for(active)
            elif current is not None:
                conn.hset(streams.LOADED_KEY, worker_id(), current.name)
            router = active_model(role="router")
            held = _loaded_by_role.get("router")
            if router is None and held is not None:
                _keep("router", None)  # rolled back: the parser reads questions, free the memory
            elif router is not None and router.backend == "local" and (held is None or held.key != router.load_key()):
                model_for(router)
        except Exception:
            logger.warning("inference model preload failed", exc_info=True)
        _heartbeat_stop.wait(2.0)


def ensure_heartbeat() -> None:
    """Start this process's heartbeat and preload threads once (idempotent, safe after fork)."""
    global _heartbeat_started
    if _heartbeat_started:
        return
    _heartbeat_started = True
    _heartbeat_stop.clear()
    _heartbeat_threads[:] = [
        threading.Thread(target=_beat_loop, name=HEARTBEAT_THREAD, daemon=True),
        threading.Thread(target=_preload_loop, name="optiq-inference-preload", daemon=True),
    ]
    for thread in _heartbeat_threads:
        thread.start()


def stop_heartbeat() -> None:
    """Stop the heartbeat and deregister this worker (its shutdown, or a test's worker)."""
    global _heartbeat_started
    _heartbeat_stop.set()
    _heartbeat_started = False
    for thread in _heartbeat_threads:
        if thread is not threading.current_thread():
            # The beat is waited for, so that a beat in flight cannot re-register the worker. The
            # preload loop registers nothing, and at shutdown it can sit in the database pool's
            # wait for a connection (up to its timeout): it is a daemon, so it is not waited for.
            thread.join(timeout=5 if thread.name == HEARTBEAT_THREAD else 0.2)
    try:
        streams.worker_gone(streams.connection(), worker_id())
    except Exception:
        logger.warning("could not deregister inference worker", exc_info=True)
