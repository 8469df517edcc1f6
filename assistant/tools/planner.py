"""Choosing the tool call for a question.

``plan_from_parser`` reads the question with ``assistant.tools.question_parser``: a structured
data query, a listing tool, a question back, an honest "I can't answer that", or knowledge.
A chat model (one whose GGUF has a chat template) instead emits the same structured call,
decoded under the grammar of ``tool_call_schema()`` so that it always parses
(``assistant.chat.data_answers``); whatever produced the call, the tool validates its
arguments and checks the user's permissions before it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.tools import data_query, practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.query import DataQuery
from assistant.tools.toolset import TOOLS, Tool, ToolError

PLANNERS = ("parser", "model")


@dataclass
class PlannedCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    route: str  # "tools" | "knowledge" | "refusal" | "clarify"
    calls: list[PlannedCall] = field(default_factory=list)
    # The refusal, or the question back / "I can't answer that" of a "clarify" plan.
    message: str = ""
    planner: str = "parser"
    cannot: bool = False  # a "clarify" plan that is an honest "I can't answer that"
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def refusal(self) -> str:
        return self.message


def plan_from_parser(question: str, *, user: Any, today: date) -> Plan:
    """The parser's plan, with the user's permissions checked before anything is asked back."""
    from assistant.tools.question_parser import read_question

    reading = read_question(question, today=today)
    if reading.kind == "knowledge":
        return Plan(route="knowledge")
    if reading.kind in ("clarify", "cannot"):
        return Plan(route="clarify", message=reading.message, cannot=reading.kind == "cannot")
    if reading.kind == "query":
        assert reading.query is not None
        call = PlannedCall("data_query", reading.query.arguments())
        arguments: Any = reading.query
    else:
        call = PlannedCall(reading.tool, reading.arguments)
        try:
            arguments = TOOLS[reading.tool].validate(reading.arguments)
        except ToolError as error:
            return Plan(route="clarify", message=f"I couldn't read that: {error}", cannot=True)
    refusal = TOOLS[call.name].refusal_for(user, arguments)
    if refusal:
        return Plan(route="refusal", message=refusal)
    return Plan(route="tools", calls=[call], notes={"period_via": reading.period_via} if reading.period_via else {})


# Kept for callers of the earlier name.
plan_deterministic = plan_from_parser


# --- the model path --------------------------------------------------------------------------------

LISTING_TOOLS = ("low_stock", "lab_jobs_ready", "recalls_due", "product_lookup")


def tool_call_schema(tools: list[Tool]) -> dict[str, Any]:
    """What a chat model may emit: one call of an offered tool with its arguments, or no call
    ("none": the question is not about the practice's data). Built from each tool's own pydantic
    schema, so the grammar decodes exactly what the tools validate."""
    options: list[dict[str, Any]] = []
    definitions: dict[str, Any] = {}
    for tool in tools:
        schema = tool.arguments.model_json_schema()
        definitions.update(schema.pop("$defs", {}))
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"const": tool.name}, "arguments": schema},
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            }
        )
    options.append(
        {
            "type": "object",
            "properties": {"tool": {"const": "none"}},
            "required": ["tool"],
            "additionalProperties": False,
        }
    )
    return {"$defs": definitions, "oneOf": options}


def model_tools(user: Any) -> list[Tool]:
    """The tools a chat model is offered: the data query and the listings the user may run."""
    return [TOOLS["data_query"], *(TOOLS[name] for name in LISTING_TOOLS if TOOLS[name].allowed(user))]


def model_prompt(tools: list[Tool], today: date) -> str:
    """The system prompt of the model path: today's date, the query's fields in brief, the tools."""
    described = "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
    return (
        f"Today is {today.isoformat()} ({today:%A}). Turn the user's question about the optical practice's own "
        "data into one JSON tool call. For figures use data_query: metric (units, revenue, sales, "
        "average_sale_value, average_units_per_sale, margin, stock_on_hand, stock_value, lab_jobs, recalls_due, "
        'recalls_overdue, patients_seen), period in words (e.g. "last month", "Q1 2026") or start and end dates, '
        "filters, group_by, rank and limit, compare. If the question is not about the practice's data, answer "
        '{"tool": "none"}.\nTools:\n' + described
    )


def parse_model_call(text: str) -> tuple[PlannedCall | None, str]:
    """The call in a model's (grammar-decoded) reply, validated against its tool: (call, "") or
    (None, why not). "none" is (None, "none")."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"not JSON ({error.msg})"
    if not isinstance(value, dict):
        return None, "not an object"
    name = value.get("tool")
    if name == "none":
        return None, "none"
    if name not in TOOLS:
        return None, f"unknown tool {name!r}"
    arguments = value.get("arguments")
    if not isinstance(arguments, dict):
        return None, "arguments missing"
    try:
        valid = TOOLS[name].validate(arguments)
    except ToolError as error:
        return None, str(error)
    if isinstance(valid, DataQuery):
        return PlannedCall(name, valid.arguments()), ""
    return PlannedCall(name, valid.model_dump(mode="json", exclude_none=True)), ""
