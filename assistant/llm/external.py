"""The external backend: forward to an OpenAI-compatible server (llama-cpp-python's server,
llama.cpp's llama-server, vLLM) that a practice already runs, chosen per model version.

The version's `path`, when set, is the model id on that server; otherwise its name is sent.
Events come out in the worker protocol's terms (``started``, ``token``, ``finish``, ``usage``),
so the client treats both backends alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from assistant.llm.errors import BackendError, NoWorkerAvailable
from assistant.llm.sampling import Generation

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=30.0, pool=30.0)


def _request(version: Any, generation: Generation) -> tuple[str, dict[str, Any]]:
    sampling = generation.sampling
    body: dict[str, Any] = {
        "model": version.path or version.name,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if sampling.stop:
        body["stop"] = list(sampling.stop)
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": sampling.json_schema},
        }
    if generation.kind == "chat":
        body["messages"] = generation.message_dicts()
        return f"{version.base_url}/chat/completions", body
    body["prompt"] = generation.prompt
    return f"{version.base_url}/completions", body


def _events(kind: str, line: str) -> list[dict[str, Any]]:
    """Translate one SSE line into the worker protocol's token/finish/usage events."""
    if not line.startswith("data:"):
        return []
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return []
    chunk = json.loads(data)
    if chunk.get("error"):
        # The server's own words may name its hosts, paths or another user's request: the log has them.
        logger.warning("external server error mid-answer: %s", str(chunk["error"])[:1000])
        raise BackendError("the external server failed mid-answer (its reply is in the web server's log)")
    events: list[dict[str, Any]] = []
    for choice in chunk.get("choices") or []:
        text = (choice.get("delta") or {}).get("content") if kind == "chat" else choice.get("text")
        if text:
            events.append({"type": "token", "text": text})
        if choice.get("finish_reason"):
            events.append({"type": "finish", "finish_reason": choice["finish_reason"]})
    if chunk.get("usage"):
        events.append({"type": "usage", "usage": chunk["usage"]})
    return events


def _raise_for(version: Any, response: httpx.Response, body: bytes) -> None:
    if response.status_code == 503:
        raise NoWorkerAvailable(f"the external server for {version.name} is busy", retry_after=5)
    logger.warning(
        "external server for %s at %s answered %s: %s",
        version.name,
        version.base_url,
        response.status_code,
        body[:1000].decode(errors="replace"),
    )
    raise BackendError(
        f"the external server for {version.name} answered {response.status_code} (its reply is in the web server's log)"
    )


async def events(version: Any, generation: Generation) -> AsyncIterator[dict[str, Any]]:
    url, body = _request(version, generation)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client, client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                _raise_for(version, response, await response.aread())
            yield {"type": "started", "model": version.name, "worker": version.base_url}
            async for line in response.aiter_lines():
                for event in _events(generation.kind, line):
                    yield event
    except httpx.TransportError as exc:
        logger.warning("cannot reach the external server for %s at %s: %s", version.name, version.base_url, exc)
        raise BackendError(
            f"cannot reach the external server for {version.name} (the web server's log says why)"
        ) from exc
