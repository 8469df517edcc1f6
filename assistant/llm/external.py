"""The external backend: forward to an OpenAI-compatible server (llama-cpp-python's server,
llama.cpp's llama-server, vLLM) that a practice already runs, chosen per model version.

The version's `path`, when set, is the model id on that server; otherwise its name is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from assistant.llm.errors import BackendError, NoWorkerAvailable

TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=30.0, pool=30.0)


def _request(version: Any, kind: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "model": version.path or version.name,
        "max_tokens": params["max_tokens"],
        "temperature": params["temperature"],
        "top_p": params["top_p"],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.get("stop"):
        body["stop"] = params["stop"]
    if params.get("seed") is not None:
        body["seed"] = params["seed"]
    if kind == "chat":
        body["messages"] = params["messages"]
        return f"{version.base_url}/chat/completions", body
    body["prompt"] = params["prompt"]
    return f"{version.base_url}/completions", body


def _events(kind: str, line: str) -> list[dict[str, Any]]:
    """Translate one SSE line into the worker protocol's token/done events."""
    if not line.startswith("data:"):
        return []
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return []
    chunk = json.loads(data)
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
    raise BackendError(
        f"the external server for {version.name} answered {response.status_code}: {body[:300].decode(errors='replace')}"
    )


def stream(version: Any, kind: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    url, body = _request(version, kind, params)
    try:
        with httpx.Client(timeout=TIMEOUT) as client, client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                _raise_for(version, response, response.read())
            yield {"type": "started", "model": version.name}
            for line in response.iter_lines():
                yield from _events(kind, line)
    except httpx.TransportError as exc:
        raise BackendError(f"cannot reach the external server for {version.name} at {version.base_url}: {exc}") from exc


async def astream(version: Any, kind: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    url, body = _request(version, kind, params)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client, client.stream("POST", url, json=body) as response:
            if response.status_code != 200:
                _raise_for(version, response, await response.aread())
            yield {"type": "started", "model": version.name}
            async for line in response.aiter_lines():
                for event in _events(kind, line):
                    yield event
    except httpx.TransportError as exc:
        raise BackendError(f"cannot reach the external server for {version.name} at {version.base_url}: {exc}") from exc
