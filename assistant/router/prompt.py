"""The router's prompt: a compact instruction and the question, in the base model's chat format.

Training examples store the instruction as their system prompt and the question as their
prompt, and the trainer renders them with the same chat format the inference worker uses
(``llm_runtime.chat_formats``), so ``router_messages`` is the one place the prompt is made.
"""

from __future__ import annotations

ROUTER_INSTRUCTION = "Read this question about the optical practice's own data as one JSON route."
# The default model is a base model without a chat template: its turns are Gemma's.
ROUTER_CHAT_FORMAT = "gemma"


def router_messages(question: str) -> list[dict[str, str]]:
    """The messages the router is trained on and asked with."""
    return [
        {"role": "system", "content": ROUTER_INSTRUCTION},
        {"role": "user", "content": " ".join(question.split())},
    ]
