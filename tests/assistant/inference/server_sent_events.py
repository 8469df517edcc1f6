"""Reading server-sent events off a live response, each with the moment it arrived."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    name: str  # "message" for OpenAI's unnamed chunks
    data: Any  # parsed JSON, or the raw text ("[DONE]")
    at: float  # time.monotonic() when its last line arrived


def read_events(response: httpx.Response) -> Iterator[Event]:
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            try:
                parsed: Any = json.loads(data)
            except ValueError:
                parsed = data
            yield Event(name, parsed, time.monotonic())
            name, data = "message", ""
