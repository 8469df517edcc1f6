"""Prompt formats for models whose GGUF has no chat template.

Shared by inference (llama-cpp-python) and training (examples are formatted exactly as
they will be prompted), so a fine-tuned model sees the same layout in both places.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict


class ChatMessage(TypedDict):
    role: str
    content: str


def _gemma(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
    # Gemma has no system role: a system message is prepended to the first user turn.
    parts: list[str] = []
    system = ""
    for message in messages:
        if message["role"] == "system":
            system += message["content"].strip() + "\n\n"
            continue
        role = "model" if message["role"] == "assistant" else "user"
        content = message["content"]
        if role == "user" and system:
            content, system = system + content, ""
        parts.append(f"<start_of_turn>{role}\n{content}<end_of_turn>\n")
    if add_generation_prompt:
        parts.append("<start_of_turn>model\n")
    return "".join(parts)


def _chatml(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
    text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def _llama3(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> str:
    text = "<|begin_of_text|>" + "".join(
        f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in messages
    )
    return text + ("<|start_header_id|>assistant<|end_header_id|>\n\n" if add_generation_prompt else "")


FORMATS = {"gemma": _gemma, "chatml": _chatml, "llama-3": _llama3}
# The text that ends a turn in each format: generation stops there, training appends it.
END_OF_TURN = {"gemma": "<end_of_turn>", "chatml": "<|im_end|>", "llama-3": "<|eot_id|>"}


def render(chat_format: str, messages: Sequence[ChatMessage], *, add_generation_prompt: bool) -> str:
    try:
        formatter = FORMATS[chat_format]
    except KeyError:
        raise ValueError(f"chat_format: unknown format {chat_format!r}; known: {', '.join(sorted(FORMATS))}") from None
    return formatter(messages, add_generation_prompt)
