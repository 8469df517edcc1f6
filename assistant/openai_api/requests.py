"""Validation of OpenAI-style request bodies: every rule names its field, as OpenAI's own errors do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CHAT_ROLES = ("system", "user", "assistant")
MAX_STOP_SEQUENCES = 4


class InvalidRequest(ValueError):
    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class GenerationRequest:
    model: str | None
    max_tokens: int
    temperature: float
    top_p: float
    stop: list[str]
    seed: int | None
    stream: bool
    include_usage: bool = True
    messages: list[dict[str, str]] = field(default_factory=list)
    prompt: str = ""

    def params(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": self.stop,
            "seed": self.seed,
        }


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return data


def _number(data: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest(f"'{name}' must be a number", param=name)
    if not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be between {low:g} and {high:g}", param=name)
    return float(value)


def _integer(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"'{name}' must be an integer", param=name)
    if not low <= value <= high:
        raise InvalidRequest(f"'{name}' must be between {low} and {high}", param=name)
    return value


def _content(value: Any, index: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: only text is supported
        texts = []
        for part in value:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise InvalidRequest(
                    f"'messages[{index}].content' parts must be text parts", param=f"messages[{index}].content"
                )
            texts.append(part["text"])
        return "".join(texts)
    raise InvalidRequest(f"'messages[{index}].content' must be a string", param=f"messages[{index}].content")


def _common(data: dict[str, Any]) -> dict[str, Any]:
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        raise InvalidRequest("'model' must be a string", param="model")
    max_tokens = _integer(data, "max_completion_tokens", 1, 32768)
    max_tokens = _integer(data, "max_tokens", 1, 32768) or max_tokens or 256
    stop = data.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise InvalidRequest("'stop' must be a non-empty string or a list of them", param="stop")
    if len(stop) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(f"'stop' takes at most {MAX_STOP_SEQUENCES} sequences", param="stop")
    n = _integer(data, "n", 1, 1)
    del n  # only one choice is generated; anything else was rejected above
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be true or false", param="stream")
    options = data.get("stream_options") or {}
    if not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object", param="stream_options")
    return {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": _number(data, "temperature", 0.7, 0.0, 2.0),
        "top_p": _number(data, "top_p", 0.95, 0.0, 1.0),
        "stop": stop,
        "seed": _integer(data, "seed", -(2**63), 2**64 - 1),
        "stream": stream,
        # The usage chunk is always sent; include_usage=false is honoured when asked.
        "include_usage": bool(options.get("include_usage", True)),
    }


def chat_request(data: dict[str, Any]) -> GenerationRequest:
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty list of {role, content} objects", param="messages")
    cleaned = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"'messages[{index}]' must be an object", param=f"messages[{index}]")
        role = message.get("role")
        if role == "developer":
            role = "system"
        if role not in CHAT_ROLES:
            raise InvalidRequest(
                f"'messages[{index}].role' must be one of {', '.join(CHAT_ROLES)}", param=f"messages[{index}].role"
            )
        cleaned.append({"role": role, "content": _content(message.get("content"), index)})
    return GenerationRequest(messages=cleaned, **_common(data))


def completion_request(data: dict[str, Any]) -> GenerationRequest:
    prompt = data.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise InvalidRequest("'prompt' must be a non-empty string", param="prompt")
    common = _common(data)
    if "max_tokens" not in data:
        common["max_tokens"] = 16  # OpenAI's default for completions
    return GenerationRequest(prompt=prompt, **common)


def embedding_inputs(data: dict[str, Any]) -> list[str]:
    inputs = data.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(text, str) for text in inputs):
        raise InvalidRequest("'input' must be a string or a non-empty list of strings", param="input")
    if len(inputs) > 2048:
        raise InvalidRequest("'input' takes at most 2048 strings", param="input")
    return inputs
