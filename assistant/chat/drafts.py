"""What an answer is made of while it is being written: its events and its draft."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.models import AssistantMessage


@dataclass
class AnswerEvent:
    """One event of an answer: "sources" (list), "token" (str), "error" ({"message", "code"}),
    "done" (the stored message)."""

    kind: str
    data: Any


@dataclass
class Draft:
    """The assistant message being written; stored once the answer ends."""

    kind: str = AssistantMessage.Kind.KNOWLEDGE
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    touched_patient_data: bool = False
    model_name: str = ""
    planner: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
