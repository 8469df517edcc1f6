"""JSONL training files: the seed's `{"prompt", "completion"}` lines and chat `{"messages": [...]}` lines.

Parsing never raises on a bad line: it returns the valid records and, for every bad line, its
number and the reason, so an import keeps everything that can be kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("prompt_completion", "chat")
MAX_FIELD_CHARS = 20_000


@dataclass
class ParsedRecord:
    line: int
    prompt: str
    completion: str
    system_prompt: str = ""
    category: str = ""


@dataclass
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ParseResult:
    records: list[ParsedRecord] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name!r} is empty")
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"{name!r} is longer than {MAX_FIELD_CHARS} characters")
    return value.strip()


def _from_messages(obj: dict[str, Any], line: int) -> ParsedRecord:
    messages = obj["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    system, user, assistant = "", None, None
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"messages[{index}] must be an object with 'role' and 'content'")
        role = message["role"]
        if role == "system":
            system = _text(message["content"], f"messages[{index}].content")
        elif role == "user":
            if user is not None:
                raise ValueError("only single-turn conversations are supported (one user and one assistant message)")
            user = _text(message["content"], f"messages[{index}].content")
        elif role == "assistant":
            if user is None:
                raise ValueError(f"messages[{index}]: the assistant message must follow a user message")
            if assistant is not None:
                raise ValueError("only single-turn conversations are supported (one user and one assistant message)")
            assistant = _text(message["content"], f"messages[{index}].content")
        else:
            raise ValueError(f"messages[{index}].role must be system, user or assistant, got {role!r}")
    if user is None or assistant is None:
        raise ValueError("'messages' needs a user message followed by an assistant message")
    return ParsedRecord(
        line=line, prompt=user, completion=assistant, system_prompt=system, category=str(obj.get("category") or "")[:64]
    )


def parse_jsonl(lines: Iterable[str | bytes]) -> ParseResult:
    """Parse JSONL in either format (detected per line); blank lines are skipped."""
    result = ParseResult()
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                result.errors.append(LineError(number, "not valid UTF-8"))
                continue
        text = raw.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            result.errors.append(LineError(number, f"invalid JSON ({exc.msg} at column {exc.colno})"))
            continue
        try:
            if not isinstance(obj, dict):
                raise ValueError("each line must be a JSON object")
            if "messages" in obj:
                record = _from_messages(obj, number)
            elif "prompt" in obj or "completion" in obj:
                if "prompt" not in obj or "completion" not in obj:
                    missing = "prompt" if "prompt" not in obj else "completion"
                    raise ValueError(f"missing {missing!r}")
                record = ParsedRecord(
                    line=number,
                    prompt=_text(obj["prompt"], "prompt"),
                    completion=_text(obj["completion"], "completion"),
                    system_prompt=_text(obj["system"], "system") if obj.get("system") else "",
                    category=str(obj.get("category") or "")[:64],
                )
            else:
                raise ValueError("expected 'prompt' and 'completion', or 'messages'")
        except ValueError as exc:
            result.errors.append(LineError(number, str(exc)))
            continue
        result.records.append(record)
    return result


def record_to_json(
    *, prompt: str, completion: str, system_prompt: str = "", category: str = "", fmt: str = "prompt_completion"
) -> str:
    if fmt == "chat":
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": completion},
        ]
        obj: dict[str, Any] = {"messages": messages}
    elif fmt == "prompt_completion":
        obj = {"prompt": prompt, "completion": completion}
        if system_prompt:
            obj["system"] = system_prompt
    else:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}")
    if category:
        obj["category"] = category
    return json.dumps(obj, ensure_ascii=False)
