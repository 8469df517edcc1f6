"""Data questions: plan the question into a tool call, run it with the asking user's permissions,
and compose the answer's figure sentences from the tool result alone (a small base model cannot
be trusted with numbers); the tool result is the source, and the call (the structured query and
what produced it) is kept with the message.

Two plain synchronous functions, callable from async code through ``sync_to_async``:
``plan_question`` (question -> Plan) and ``run_plan`` (Plan -> the draft's text, sources and
tool calls).

Who reads the question: a chat model whose GGUF carries its own chat template (an instruction
model, e.g. Llama 3.1 Instruct or SmolLM2-Instruct) emits the call itself, decoded under the
grammar of the tools' JSON schema; the question parser checks it, and where the two read the
question differently the user is asked which was meant. A call that does not validate or names
something that does not exist, and every other model, fall back to the parser.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from assistant.chat.drafts import Draft
from assistant.models import AssistantMessage
from assistant.tools.planner import (
    Plan,
    PlannedCall,
    model_prompt,
    model_tools,
    parse_model_call,
    plan_from_parser,
    tool_call_schema,
)
from assistant.tools.toolset import TOOLS, ToolContext, ToolError, ToolPermissionDenied, ToolResult

logger = logging.getLogger(__name__)
YES = re.compile(
    r"^\s*(?:yes|yeah|yep|yup|y|correct|right|that's right|thats right|exactly|please|yes please|ok|okay)\b[\s.!]*$",
    re.I,
)
SUGGESTION = re.compile(r"Did you mean (.+?)\?")
MODEL_MAX_TOKENS = 160
NEW_QUESTION_WORDS = 6
NEW_SENTENCE_WORDS = 9


def emits_tool_calls(version: Any) -> bool:
    """Models that write the structured call themselves: local GGUFs with their own chat template
    (the grammar needs llama.cpp, and a template marks an instruction-tuned model)."""
    return bool(
        version is not None
        and getattr(version, "has_chat_template", False)
        and getattr(version, "backend", "local") == "local"
        and not getattr(version, "chat_format", "")
    )


# Kept for callers of the earlier name.
supports_native_tools = emits_tool_calls


def plan_question(question: str, *, user: Any, today: date, version: Any = None, thread: Any = None) -> Plan:
    """The plan for `question`; a short reply to a question back is read with the question it answers."""
    plan = _plan(question, user=user, today=today, version=version)
    if plan.route in ("tools", "refusal") or thread is None:
        return plan
    if plan.route == "knowledge" and _asks_anew(question):
        # A whole question of its own ("How long is a glasses prescription valid for?") after a
        # question back is a new question, not the answer to that one.
        return plan
    earlier = _question_asked_back(thread)
    if earlier is None:
        return plan
    original, asked_back = earlier
    combined = _combine(original, question, asked_back, today)
    followed = _plan(combined, user=user, today=today, version=version)
    if followed.route in ("tools", "refusal", "clarify"):
        followed.notes["read_as"] = combined
        return followed if followed.route != "clarify" or plan.route == "knowledge" else plan
    return plan


def _asks_anew(message: str) -> bool:
    """A message that is a whole question: it ends with a question mark and runs to several words
    ("units sold?" and "for October?" answer a question back), or runs to a sentence without one
    ("my new glasses have a bubble distortion at the edges, is the prescription wrong")."""
    words = len(message.split())
    return words >= NEW_SENTENCE_WORDS or (message.rstrip().endswith("?") and words >= NEW_QUESTION_WORDS)


def _plan(question: str, *, user: Any, today: date, version: Any) -> Plan:
    from assistant.router.planning import active_router, plan_with_router

    parsed = plan_from_parser(question, user=user, today=today)
    router = active_router()
    if router is not None:  # a fine-tuned router reads data questions (assistant.router)
        return plan_with_router(question, parsed, user=user, today=today, version=router)
    if not emits_tool_calls(version):
        return parsed
    try:
        return _with_model(question, parsed, user=user, today=today, version=version)
    except Exception as error:  # no worker, a timeout: the parser's plan stands
        logger.warning("assistant: the model's tool call failed (%s); using the parser", type(error).__name__)
        parsed.notes["model_call"] = f"failed: {type(error).__name__}"
        return parsed


def _with_model(question: str, parsed: Plan, *, user: Any, today: date, version: Any) -> Plan:
    from assistant.llm.client import chat_complete

    tools = model_tools(user)
    result = chat_complete(
        messages=[{"role": "system", "content": model_prompt(tools, today)}, {"role": "user", "content": question}],
        model=version.name,
        json_schema=tool_call_schema(tools),
        temperature=0.0,
        max_tokens=MODEL_MAX_TOKENS,
    )
    call, why = parse_model_call(result.text)
    if call is None:
        parsed.notes["model_call"] = {"text": result.text[:500], "used": False, "why": why}
        return parsed
    note = {"text": result.text[:500], "used": True, "call": {"name": call.name, "arguments": call.arguments}}
    refusal = TOOLS[call.name].refusal_for(user, TOOLS[call.name].validate(call.arguments))
    if refusal:
        return Plan(route="refusal", message=refusal, planner="model", notes={"model_call": note})
    if parsed.route == "tools" and parsed.calls and _disagree(parsed.calls[0], call):
        note.update(used=False, why="the parser read it differently")
        return Plan(
            route="clarify",
            message=(f"I can read that two ways: {_gist(call)}, or {_gist(parsed.calls[0])}. Which do you mean?"),
            planner="model",
            notes={
                "model_call": note,
                "parser_call": {"name": parsed.calls[0].name, "arguments": parsed.calls[0].arguments},
            },
        )
    return Plan(route="tools", calls=[call], planner="model", notes={"model_call": note, "fallback": parsed})


def _disagree(parser: PlannedCall, model: PlannedCall) -> bool:
    if parser.name != model.name:
        return True
    if parser.name != "data_query":
        return False
    keys = ("metric", "start", "end", "group_by", "category", "lens_type", "brand", "staff", "payment_method")
    return any(
        parser.arguments.get(k) != model.arguments.get(k) for k in keys if k in parser.arguments or k in model.arguments
    )


def _gist(call: PlannedCall) -> str:
    if call.name != "data_query":
        return TOOLS[call.name].description[:1].lower() + TOOLS[call.name].description[1:].rstrip(".")
    arguments = call.arguments
    pieces = [arguments["metric"].replace("_", " ")]
    if arguments.get("start"):
        pieces.append(f"{arguments['start']} to {arguments.get('end', 'today')}")
    elif arguments.get("period"):
        pieces.append(arguments["period"])
    for key in ("category", "lens_type", "brand", "staff", "payment_method", "group_by"):
        if arguments.get(key):
            pieces.append(f"{key.replace('_', ' ')} {str(arguments[key]).replace('_', ' ')}")
    return ", ".join(pieces)


def _question_asked_back(thread: Any) -> tuple[str, str] | None:
    """(the question, the question back) when the thread's last answer asked back."""
    recent = list(thread.messages.order_by("-created_at", "-id")[:3])
    if len(recent) < 3:
        return None
    current, answer, question = recent
    if (
        current.role == AssistantMessage.Role.USER
        and answer.role == AssistantMessage.Role.ASSISTANT
        and answer.kind == AssistantMessage.Kind.CLARIFICATION
        and question.role == AssistantMessage.Role.USER
    ):
        return question.content, answer.content
    return None


def _combine(original: str, reply: str, asked_back: str, today: date) -> str:
    """The original question with the reply's answer in it: "yes" takes the suggested period, a
    period replaces the original's, anything else is added ("Which was our best month?" + "revenue")."""
    from assistant.tools.periods import find_periods, normalise

    if YES.match(reply):
        suggestion = SUGGESTION.search(asked_back)
        if not suggestion:
            return original
        reply = suggestion.group(1).split(" or ")[0]
    text = normalise(original)
    if find_periods(reply, today=today):
        for match in sorted(find_periods(text, today=today, normalised=True), key=lambda m: -m.start):
            text = text[: match.start] + " " + text[match.end :]
        text = re.sub(r"\b(?:in|on|for|during|over|the)\s*$", " ", text)
    return f"{text.strip()} {reply.strip()}"


def run_plan(plan: Plan, context: ToolContext, draft: Draft) -> None:
    """Write the plan's answer into `draft`: a refusal, a question back or the tools' results."""
    draft.planner = plan.planner
    if plan.route == "refusal":
        draft.kind = AssistantMessage.Kind.REFUSAL
        draft.text = plan.message
        draft.sources, draft.tool_calls = [], []
        return
    if plan.route == "clarify":
        draft.kind = AssistantMessage.Kind.CLARIFICATION if not plan.cannot else AssistantMessage.Kind.REFUSAL
        draft.text = plan.message
        if plan.notes.get("model_call"):
            draft.tool_calls = [{"name": "model_call", "arguments": {}, "model_call": plan.notes["model_call"]}]
        return
    run_tools(plan.calls, context, draft, plan=plan)


def run_tools(calls: list[PlannedCall], context: ToolContext, draft: Draft, *, plan: Plan | None = None) -> None:
    texts: list[str] = []
    for call in calls:
        tool = TOOLS[call.name]
        try:
            result: ToolResult = tool.call(context, call.arguments)
        except ToolPermissionDenied as denied:
            draft.kind = AssistantMessage.Kind.REFUSAL
            draft.text = str(denied)
            draft.sources, draft.tool_calls = [], []
            return
        except ToolError as error:
            fallback = plan.notes.get("fallback") if plan is not None else None
            if isinstance(fallback, Plan):
                # The model named something that does not exist: the parser's reading stands.
                fallback.notes["model_call"] = {**plan.notes.get("model_call", {}), "used": False, "why": str(error)}  # type: ignore[union-attr]
                run_plan(fallback, context, draft)
                return
            draft.tool_calls.append({"name": call.name, "arguments": call.arguments, "error": str(error)})
            texts.append(f"I couldn't run that query: {error}")
            continue
        record: dict[str, Any] = {"name": result.tool, "arguments": result.arguments}
        if plan is not None and plan.notes.get("model_call"):
            record["model_call"] = plan.notes["model_call"]
        draft.tool_calls.append(record)
        draft.sources.append({**result.source(), "planner": draft.planner or "parser"})
        draft.sources.extend(result.extra_sources)
        draft.touched_patient_data |= result.touched_patient_data or tool.touches_patient_data
        texts.append(result.text)
    draft.kind = AssistantMessage.Kind.DATA
    draft.text = "\n\n".join(texts)
