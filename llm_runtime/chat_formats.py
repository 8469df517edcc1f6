"""Prompt formats for models whose GGUF has no chat template.

Shared by inference (llama-cpp-python) and training (examples are formatted exactly as
they will be prompted), so a fine-tuned model sees the same layout in both places.

A format yields segments: its own markup (special tokens such as `<start_of_turn>`) and the
messages' text. Inference tokenizes only the markup with special tokens recognised, so that a
`<start_of_turn>` or `<|im_start|>` written inside a question or a retrieved document stays
plain text and cannot open a turn of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple, TypedDict


class ChatMessage(TypedDict):
    role: str
    content: str


class Segment(NamedTuple):
    text: str
    is_markup: bool  # the format's own: tokenized with special tokens recognised


def _markup(text: str) -> Segment:
    return Segment(text, True)


def _text(text: str) -> Segment:
    return Segment(text, False)


def _gemma(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> Iterator[Segment]:
    # Gemma has no system role: a system message is prepended to the first user turn.
    system: list[Segment] = []
    for message in messages:
        if message["role"] == "system":
            system += [_text(message["content"].strip()), _text("\n\n")]
            continue
        role = "model" if message["role"] == "assistant" else "user"
        yield _markup(f"<start_of_turn>{role}\n")
        if role == "user" and system:
            yield from system
            system = []
        yield _text(message["content"])
        yield _markup("<end_of_turn>\n")
    if add_generation_prompt:
        yield _markup("<start_of_turn>model\n")


def _chatml(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> Iterator[Segment]:
    for m in messages:
        yield _markup(f"<|im_start|>{m['role']}\n")
        yield _text(m["content"])
        yield _markup("<|im_end|>\n")
    if add_generation_prompt:
        yield _markup("<|im_start|>assistant\n")


def _llama3(messages: Sequence[ChatMessage], add_generation_prompt: bool) -> Iterator[Segment]:
    yield _markup("<|begin_of_text|>")
    for m in messages:
        yield _markup(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n")
        yield _text(m["content"])
        yield _markup("<|eot_id|>")
    if add_generation_prompt:
        yield _markup("<|start_header_id|>assistant<|end_header_id|>\n\n")


FORMATS = {"gemma": _gemma, "chatml": _chatml, "llama-3": _llama3}
# The text that ends a turn in each format: generation stops there, training appends it.
END_OF_TURN = {"gemma": "<end_of_turn>", "chatml": "<|im_end|>", "llama-3": "<|eot_id|>"}


def render_segments(chat_format: str, messages: Sequence[ChatMessage], *, add_generation_prompt: bool) -> list[Segment]:
    try:
        formatter = FORMATS[chat_format]
    except KeyError:
        raise ValueError(f"chat_format: unknown format {chat_format!r}; known: {', '.join(sorted(FORMATS))}") from None
    return [segment for segment in formatter(messages, add_generation_prompt) if segment.text]


def render(chat_format: str, messages: Sequence[ChatMessage], *, add_generation_prompt: bool) -> str:
    return "".join(s.text for s in render_segments(chat_format, messages, add_generation_prompt=add_generation_prompt))


# Stand-ins for the messages while a model's own (Jinja) template renders around them:
# private-use characters that no one types, so the template's markup can be told from the
# messages' text.
_STAND_IN = "\ue000{}\ue001"
_STAND_IN_PATTERN = re.compile("\ue000(\\d+)\ue001")


def masked_messages(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The messages with their text replaced by stand-ins, for a template to render."""
    return [{**m, "content": _STAND_IN.format(i)} for i, m in enumerate(messages)]


def segments_around_stand_ins(rendered: str, messages: Sequence[ChatMessage]) -> list[Segment]:
    """A template's output for `masked_messages(messages)` as its markup and the messages' text."""
    segments: list[Segment] = []
    position = 0
    for found in _STAND_IN_PATTERN.finditer(rendered):
        segments.append(_markup(rendered[position : found.start()]))
        segments.append(_text(messages[int(found.group(1))]["content"]))
        position = found.end()
    segments.append(_markup(rendered[position:]))
    return [s for s in segments if s.text]
