"""The router's plan for a question, with the parser deciding whenever the router cannot.

Two ways of using the router, both measured (``assistant.router.evaluation``):

- **router then parser** (question time): a figure or a listing the router reads, once it has
  validated, is run as the parser's would be (the tool checks the user's permissions, and a
  query that names something the catalogue does not hold falls back to the parser's plan when
  it runs). Anything else, an output that fails validation, "knowledge" or "ask back", leaves
  the question to the parser, which then also writes the question back;
- **router alone**: the router's reading stands whatever it is (the evaluation's column).

The router's output and what became of it are kept with the answer (``notes["model_call"]``,
the same record the chat-model path keeps), and the plan's planner is "router".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from assistant.router.decoding import router_text
from assistant.router.outputs import ASK_BACK, KNOWLEDGE, RouterReading, read_output
from assistant.tools.planner import Plan, PlannedCall
from assistant.tools.toolset import TOOLS

logger = logging.getLogger(__name__)
ROUTER = "router"
# What "router alone" says when the router asks back (the parser's question back is better
# worded when both ask back, and is used then).
ASK_BACK_MESSAGE = "Which figure and which period do you mean?"

Decoder = Callable[..., str]


def active_router() -> Any:
    """The active router version, or None (then the parser reads every question)."""
    from assistant.registry.selectors import active_model

    version = active_model(role="router")
    return version if version is not None and version.backend == "local" else None


def plan_with_router(
    question: str,
    parsed: Plan,
    *,
    user: Any,
    today: date,
    version: Any,
    decode: Decoder = router_text,
    alone: bool = False,
) -> Plan:
    """The router's plan for `question` (`parsed`: the parser's, used whenever the router's
    reading is not taken). `decode` turns (question, version=) into the router's text."""
    try:
        text = decode(question, version=version)
    except Exception as error:  # no worker, a timeout: the parser's plan stands
        logger.warning("assistant: the router failed (%s); using the parser", type(error).__name__)
        parsed.notes["model_call"] = {"router": version.name, "used": False, "why": f"failed: {type(error).__name__}"}
        return parsed
    reading = read_output(text)
    note: dict[str, Any] = {"router": version.name, "text": text[:500], "route": reading.route, "used": True}
    if reading.route in ("query", "listing"):
        return _run_plan(reading, None if alone else parsed, note, user=user)
    if alone:
        return _alone(reading, parsed, note)
    note.update(used=False, why=reading.problem or f"the router read it as {reading.route}")
    parsed.notes["model_call"] = note
    return parsed


def _run_plan(reading: RouterReading, parsed: Plan | None, note: dict[str, Any], *, user: Any) -> Plan:
    call = PlannedCall(reading.tool, reading.arguments)
    note["call"] = {"name": call.name, "arguments": call.arguments}
    tool = TOOLS[call.name]
    refusal = tool.refusal_for(user, reading.query if reading.query is not None else tool.validate(call.arguments))
    if refusal:
        return Plan(route="refusal", message=refusal, planner=ROUTER, notes={"model_call": note})
    notes: dict[str, Any] = {"model_call": note}
    if parsed is not None:  # run_tools turns to it if the query names what does not exist
        notes["fallback"] = parsed
    return Plan(route="tools", calls=[call], planner=ROUTER, notes=notes)


def _alone(reading: RouterReading, parsed: Plan, note: dict[str, Any]) -> Plan:
    if reading.route == KNOWLEDGE:
        return Plan(route="knowledge", planner=ROUTER, notes={"model_call": note})
    if reading.route == ASK_BACK:
        message = parsed.message if parsed.route == "clarify" and not parsed.cannot else ASK_BACK_MESSAGE
        return Plan(route="clarify", message=message, planner=ROUTER, notes={"model_call": note})
    note.update(used=False, why=reading.problem)
    return Plan(
        route="clarify",
        message=f"I couldn't read that: {reading.problem}",
        cannot=True,
        planner=ROUTER,
        notes={"model_call": note},
    )
