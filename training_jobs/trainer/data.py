"""Examples -> token ids with completion-only labels, the train/eval split, and packed batches.

Prompts are rendered with `llm_runtime.chat_formats` (or the tokenizer's own chat template
when the base has one and no format is set), and the completion is followed by the format's
end-of-turn text: exactly what the inference side sends and stops on. As at inference, only the
format's markup is tokenized with special tokens recognised: a `<start_of_turn>` written in an
example's text is trained on as plain characters, not as a turn marker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from llm_runtime.chat_formats import (
    END_OF_TURN,
    ChatMessage,
    Segment,
    masked_messages,
    render_segments,
    segments_around_stand_ins,
)

IGNORE_INDEX = -100


@dataclass(frozen=True)
class Record:
    prompt: str
    completion: str
    system_prompt: str = ""
    category: str = ""
    example_id: int | None = None


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def completion_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def prompt_messages(record: Record) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": record.system_prompt}] if record.system_prompt else []
    return [*messages, {"role": "user", "content": record.prompt}]


def prompt_segments(tokenizer: Any, chat_format: str, record: Record) -> list[Segment]:
    """The prompt for this record, ending where the answer starts, as markup and text."""
    messages = prompt_messages(record)
    if chat_format:
        return render_segments(chat_format, messages, add_generation_prompt=True)
    rendered = tokenizer.apply_chat_template(masked_messages(messages), tokenize=False, add_generation_prompt=True)
    return segments_around_stand_ins(str(rendered), messages)


def render_prompt(tokenizer: Any, chat_format: str, record: Record) -> str:
    """The text a model is prompted with for this record, ending where the answer starts."""
    return "".join(segment.text for segment in prompt_segments(tokenizer, chat_format, record))


def end_of_turn(tokenizer: Any, chat_format: str) -> str:
    if chat_format:
        return END_OF_TURN[chat_format]
    return str(tokenizer.eos_token or "")


def _token_ids(tokenizer: Any, segments: Sequence[Segment]) -> list[int]:
    ids: list[int] = []
    for segment in segments:
        ids += tokenizer(segment.text, add_special_tokens=False, split_special_tokens=not segment.is_markup)[
            "input_ids"
        ]
    return ids


def encode(tokenizer: Any, chat_format: str, record: Record, max_length: int) -> Encoded:
    """Prompt and completion are tokenized apart so the label boundary is exact; the prompt
    gets the tokenizer's BOS (as llama.cpp adds it), the completion none."""
    segments = prompt_segments(tokenizer, chat_format, record)
    prompt_text = "".join(segment.text for segment in segments)
    starts_with_bos = prompt_text.startswith(str(tokenizer.bos_token or "\x00"))
    bos = [] if starts_with_bos else list(tokenizer("", add_special_tokens=True)["input_ids"])
    prompt_ids = bos + _token_ids(tokenizer, segments)
    completion_ids = _token_ids(
        tokenizer, [Segment(record.completion, False), Segment(end_of_turn(tokenizer, chat_format), True)]
    )
    truncated = len(prompt_ids) + len(completion_ids) > max_length
    if truncated:
        # Keep the whole prompt when possible and cut the answer; a prompt that fills the
        # window keeps its last part and at least a few answer tokens.
        room = max(max_length - len(prompt_ids), min(len(completion_ids), max_length // 4))
        completion_ids = completion_ids[:room]
        prompt_ids = prompt_ids[-(max_length - len(completion_ids)) :]
    return Encoded(
        input_ids=list(prompt_ids) + list(completion_ids),
        labels=[IGNORE_INDEX] * len(prompt_ids) + list(completion_ids),
        truncated=truncated,
    )


def split(records: Sequence[Record], *, eval_fraction: float, seed: int) -> tuple[list[Record], list[Record]]:
    """A seeded split: the same data and seed always hold out the same examples."""
    order = list(records)
    random.Random(seed).shuffle(order)
    if eval_fraction <= 0 or len(order) < 2:
        return order, []
    n_eval = min(len(order) - 1, max(1, round(len(order) * eval_fraction)))
    return order[n_eval:], order[:n_eval]


def steps_per_epoch(n_train: int, batch_size: int, accumulation: int) -> int:
    return max(1, math.ceil(math.ceil(n_train / batch_size) / accumulation))


def epoch_batches(items: Sequence[Encoded], *, batch_size: int, seed: int, epoch: int) -> list[list[Encoded]]:
    """The epoch's batches in a seeded order (so a resumed run sees the same batches)."""
    order = list(range(len(items)))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return [[items[i] for i in order[start : start + batch_size]] for start in range(0, len(order), batch_size)]


def pack(batch: Sequence[Encoded]) -> dict[str, torch.Tensor]:
    """One row holding every example of the batch back to back, with positions restarting at
    each example: transformers turns the restarts into a block-diagonal causal mask, so no
    example sees another and no compute is spent on padding."""
    input_ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    for item in batch:
        input_ids += item.input_ids
        # The first token of each example predicts nothing across the boundary: its label
        # slot (used by the previous token) is masked by the shift in the loss.
        labels += [IGNORE_INDEX, *item.labels[1:]]
        positions += list(range(item.length))
    return {
        "input_ids": torch.tensor([input_ids], dtype=torch.long),
        "labels": torch.tensor([labels], dtype=torch.long),
        "position_ids": torch.tensor([positions], dtype=torch.long),
    }
