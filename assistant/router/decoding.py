"""The router's text for a question, decoded under the grammar of ``router_schema()``.

At question time the active router runs on the inference workers (``chat_complete`` with the
router role), like every other model; the evaluation runs the same worker code in its own
process (``runtime.model_for`` and ``runtime.generate``), so that a few hundred questions need
no queue and their timings are the model's alone.
"""

from __future__ import annotations

from typing import Any

from assistant.router.outputs import router_schema
from assistant.router.prompt import router_messages

# The longest output the data set holds is about 50 tokens; the grammar closes the object
# before this unless the model loops inside a string.
ROUTER_MAX_TOKENS = 96
ROUTER_SAMPLING: dict[str, Any] = {"temperature": 0.0, "max_tokens": ROUTER_MAX_TOKENS}


def router_text(question: str, *, version: Any) -> str:
    """The router `version`'s output for `question`, from an inference worker."""
    from assistant.llm.client import chat_complete

    result = chat_complete(
        messages=router_messages(question),
        model=version.name,
        role="router",
        json_schema=router_schema(),
        **ROUTER_SAMPLING,
    )
    return result.text


def router_text_in_process(question: str, *, version: Any) -> str:
    """The same output, decoded in this process by the worker's own code (the evaluation)."""
    from assistant.llm import runtime
    from assistant.llm.sampling import Generation, Sampling

    generation = Generation.chat(router_messages(question), Sampling(json_schema=router_schema(), **ROUTER_SAMPLING))
    return "".join(event.get("text", "") for event in runtime.generate(runtime.model_for(version), generation))
