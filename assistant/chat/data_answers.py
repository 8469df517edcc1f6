"""Data questions: choose tools for the question, run them with the asking user's permissions,
and compose the answer's figure sentences from the tool results alone (a small base model
cannot be trusted with numbers); the tool results are the sources."""

from __future__ import annotations

from datetime import date
from typing import Any

from assistant.chat.drafts import Draft
from assistant.models import AssistantMessage
from assistant.tools import practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.planner import Plan, PlannedCall, native_tool_prompt, parse_tool_calls, plan_deterministic
from assistant.tools.registry import TOOLS, ToolContext, ToolError, ToolPermissionDenied, ToolResult


def supports_native_tools(version: Any) -> bool:
    """Models whose own chat template takes tools (Llama 3.1 Instruct and later) choose tools themselves."""
    if version is None or not getattr(version, "has_chat_template", False):
        return False
    label = f"{getattr(version, 'chat_format', '')} {getattr(version, 'name', '')}".lower()
    return any(family in label for family in ("llama-3.1", "llama-3.2", "llama-3.3", "llama3.1", "llama-3"))


def plan_native(question: str, *, user: Any, today: date, version: Any) -> Plan:
    from assistant.llm.client import chat_complete

    allowed = [tool for tool in TOOLS.values() if tool.allowed(user)]
    result = chat_complete(
        messages=[
            {"role": "system", "content": native_tool_prompt(allowed, today)},
            {"role": "user", "content": question},
        ],
        model=version.name,
        max_tokens=200,
        temperature=0.0,
    )
    calls = parse_tool_calls(result.text)
    if not calls:
        # The model chose no tool; data it may not see is still refused by the deterministic rules.
        fallback = plan_deterministic(question, user=user, today=today)
        if fallback.route == "refusal":
            return fallback
        return Plan(route="knowledge", planner="native")
    for call in calls:
        if call.name in TOOLS and not TOOLS[call.name].allowed(user):
            return Plan(route="refusal", refusal=TOOLS[call.name].refusal, calls=calls, planner="native")
    return Plan(route="tools", calls=calls, planner="native")


def run_tools(calls: list[PlannedCall], context: ToolContext, draft: Draft) -> None:
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
            draft.tool_calls.append({"name": call.name, "arguments": call.arguments, "error": str(error)})
            texts.append(f"I couldn't run that query: {error}")
            continue
        draft.tool_calls.append({"name": result.tool, "arguments": result.arguments})
        draft.sources.append(result.source())
        draft.sources.extend(result.extra_sources)
        draft.touched_patient_data |= result.touched_patient_data or tool.touches_patient_data
        texts.append(result.text)
    draft.kind = AssistantMessage.Kind.DATA
    draft.text = "\n\n".join(texts)
