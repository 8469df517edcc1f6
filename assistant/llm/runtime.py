"""The inference worker's side: a warm llama-cpp-python model per process, swapped on activation.

Each Celery worker process keeps one loaded ``Llama`` keyed by what it depends on (GGUF path,
LoRA adapter and scale, load parameters). A request names the version it wants (the web side
resolves "the active one"); when that differs from what is loaded, the new model is loaded
and replaces the old one for later requests. A background thread keeps the process's
heartbeat and preloads a newly activated version, so the first request after an activation
usually finds it warm.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from assistant.llm import streams
from assistant.llm.chat_formats import END_OF_TURN, render
from assistant.llm.errors import BackendError, ModelNotFound

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
_loaded: LoadedModel | None = None
_worker_id = ""
_heartbeat_started = False
_heartbeat_stop = threading.Event()
_heartbeat_thread: threading.Thread | None = None


def worker_id() -> str:
    global _worker_id
    if not _worker_id:
        _worker_id = f"{socket.gethostname()}:{os.getpid()}"
    return _worker_id


_params_lock = threading.Lock()


def load_llama(**kwargs: Any) -> Any:
    """``llama_cpp.Llama(**kwargs)`` without llama.cpp's extra weight buffers (repacking/AMX)
    unless OPTIQ_LLM_REPACK is on.

    On CPUs that advertise AMX inside some virtual machines, the extra buffer types crash
    (SIGSEGV) on every batched decode, i.e. on any prompt longer than one token; plain buffers
    work everywhere. llama-cpp-python has no argument for it, so the default model parameters
    are adjusted while this one model loads.
    """
    import llama_cpp
    from llama_cpp import Llama

    if settings.OPTIQ_LLM_REPACK:
        return Llama(**kwargs)
    module = llama_cpp.llama_cpp
    with _params_lock:
        original = module.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        module.llama_model_default_params = without_extra_buffers
        try:
            return Llama(**kwargs)
        finally:
            module.llama_model_default_params = original


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
    """The loaded model for `version`, loading it (and dropping the previous one) when needed."""
    global _loaded
    with _lock:
        current = _loaded
        if current is not None and current.key == version.load_key():
            if current.version_id != version.pk:  # same weights registered under another name
                current = LoadedModel(
                    current.key, version.pk, version.name, current.llm, version.chat_format, current.template
                )
                _loaded = current
            return current
        # The old object stays alive for whoever still holds it; the cache moves on.
        _loaded = None
        _loaded = _load(version)
        try:
            streams.connection().hset(streams.LOADED_KEY, worker_id(), version.name)
        except Exception:  # the heartbeat reports it again shortly
            logger.warning("could not record the loaded model", exc_info=True)
        return _loaded


def loaded_model() -> LoadedModel | None:
    return _loaded


def _prompt_tokens(model: LoadedModel, payload: dict[str, Any]) -> tuple[list[int], list[str]]:
    llm = model.llm
    if payload["kind"] == "completion":
        return llm.tokenize(payload["prompt"].encode(), add_bos=True, special=False), []
    messages = payload["messages"]
    if model.template is not None:
        formatted = model.template(messages=messages)
        tokens = llm.tokenize(formatted.prompt.encode(), add_bos=not formatted.added_special, special=True)
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        return tokens, [s for s in stops if s]
    prompt = render(model.chat_format, messages, add_generation_prompt=True)
    return llm.tokenize(prompt.encode(), add_bos=True, special=True), [END_OF_TURN[model.chat_format]]


@functools.lru_cache(maxsize=32)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


def json_grammar(schema: dict[str, Any]) -> Any:
    """llama.cpp's grammar for a JSON schema, compiled once per schema."""
    return _grammar(json.dumps(schema, sort_keys=True))


def generate(model: LoadedModel, payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield ``{"text": ...}`` per token, then ``{"finish_reason", "usage"}``."""
    llm = model.llm
    tokens, stops = _prompt_tokens(model, payload)
    max_tokens = int(payload.get("max_tokens") or 256)
    if len(tokens) + max_tokens > llm.n_ctx():
        # llama.cpp would fail mid-way; say it up front in OpenAI's terms.
        raise ValueError(
            f"the prompt ({len(tokens)} tokens) plus max_tokens ({max_tokens}) exceeds the context length "
            f"of {model.name} ({llm.n_ctx()} tokens)"
        )
    stop = [*stops, *(payload.get("stop") or [])]
    if payload.get("seed") is not None:
        # Reusing the cached prompt prefix changes the logits in the last bits; a seeded request
        # must repeat exactly, so it evaluates its whole prompt afresh.
        llm.reset()
    chunks = llm.create_completion(
        prompt=tokens,
        max_tokens=max_tokens,
        temperature=float(payload.get("temperature", 0.7)),
        top_p=float(payload.get("top_p", 0.95)),
        stop=stop,
        seed=payload.get("seed"),
        stream=True,
        grammar=json_grammar(payload["json_schema"]) if payload.get("json_schema") else None,
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
    close_old_connections()
    version = ModelVersion.objects.filter(pk=payload["version_id"]).first()
    if version is None:
        conn.publish(
            room,
            streams.encode(
                "error",
                status=404,
                code=ModelNotFound.code,
                message=f"model version {payload['version_id']} no longer exists",
            ),
        )
        return {"status": "missing"}
    if conn.publish(room, streams.encode("started", worker=worker_id(), model=version.name)) == 0:
        return {"status": "abandoned"}  # the client stopped waiting before a worker was free
    conn.hset(streams.BUSY_KEY, worker_id(), request_id)
    sent = 0
    try:
        model = model_for(version)
        for event in generate(model, payload):
            if "text" in event:
                if conn.publish(room, streams.encode("token", text=event["text"])) == 0:
                    logger.info("request %s: client gone after %d tokens, stopping", request_id, sent)
                    return {"status": "cancelled", "tokens": sent}
                sent += 1
            else:
                conn.publish(room, streams.encode("done", model=version.name, worker=worker_id(), **event))
                return {"status": "done", "tokens": sent}
    except ValueError as exc:
        conn.publish(room, streams.encode("error", status=400, code="context_length_exceeded", message=str(exc)))
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


def _heartbeat_loop() -> None:
    from assistant.registry.selectors import active_model

    conn = streams.connection()
    while not _heartbeat_stop.is_set():
        try:
            streams.worker_heartbeat(conn, worker_id())
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
        except Exception:
            logger.warning("inference heartbeat failed", exc_info=True)
        _heartbeat_stop.wait(streams.HEARTBEAT_SECONDS)


def ensure_heartbeat() -> None:
    """Start this process's heartbeat thread once (idempotent, safe after fork)."""
    global _heartbeat_started, _heartbeat_thread
    if _heartbeat_started:
        return
    _heartbeat_started = True
    _heartbeat_stop.clear()
    _heartbeat_thread = threading.Thread(target=_heartbeat_loop, name="optiq-inference-heartbeat", daemon=True)
    _heartbeat_thread.start()


def stop_heartbeat() -> None:
    """Stop the heartbeat thread and deregister this worker (its shutdown, or a test's worker)."""
    global _heartbeat_started
    _heartbeat_stop.set()
    _heartbeat_started = False
    if _heartbeat_thread is not None and _heartbeat_thread is not threading.current_thread():
        _heartbeat_thread.join(timeout=5)  # so that a beat in flight cannot re-register the worker
    try:
        streams.worker_gone(streams.connection(), worker_id())
    except Exception:
        logger.warning("could not deregister inference worker", exc_info=True)
