"""What the router writes: one JSON object, decoded under the grammar of ``router_schema()``.

- a figure question: the structured query itself, ``{"metric": "units", "category": "frame",
  "period": "last month"}``, built from ``DataQuery``'s own schema. Periods are the question's
  own words (with typos put right), resolved by the period grammar when the query runs, so the
  router needs no calendar and no date of today; ``start``/``end`` are therefore left out;
- a listing: ``{"route": "low_stock", "category": "frame"}``, ``{"route": "lab_jobs_ready"}``,
  ``{"route": "recalls_due", "overdue_only": true}``, ``{"route": "product_lookup", "query":
  "Clubmaster"}`` (the arguments of that tool, flattened);
- ``{"route": "knowledge"}``: not a question about the practice's data;
- ``{"route": "ask_back"}``: a data question that cannot be answered as asked (no period, no
  figure named, a forecast, something the records do not hold).

The worker compiles the grammar from the schema's canonical spelling (keys sorted), and
llama.cpp's converter then fixes the order of an object's keys: its required keys, then its
optional ones, each in alphabetical order. ``completion_text`` writes the training completions
in exactly that order, so what the model learns is what the grammar lets it write.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from assistant.tools import data_query, practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.query import DataQuery
from assistant.tools.toolset import TOOLS, ToolError

KNOWLEDGE = "knowledge"
ASK_BACK = "ask_back"
# The listings the router may choose (patients are never the router's: its training data holds
# no patient, so a question naming one is read by the parser alone).
LISTINGS = ("low_stock", "lab_jobs_ready", "recalls_due", "product_lookup", "product_cost")
ROUTES = (*LISTINGS, KNOWLEDGE, ASK_BACK)
# Dates are the period grammar's to work out (see the module docstring).
LEFT_OUT = ("start", "end")
NAME_MAX_LENGTH = 60


def _plain(schema: Any) -> Any:
    """The schema without what the grammar need not carry: nulls (an absent key says "none"),
    titles, descriptions and defaults; long free text capped."""
    if isinstance(schema, list):
        return [_plain(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    options = schema.get("anyOf")
    if options is not None:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            return _plain(kept[0])
    result = {key: _plain(value) for key, value in schema.items() if key not in ("title", "description", "default")}
    if result.get("type") == "string" and result.get("maxLength", 0) > NAME_MAX_LENGTH and "enum" not in result:
        result["maxLength"] = NAME_MAX_LENGTH if "minLength" in result else result["maxLength"]
    return result


def _query_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = copy.deepcopy(DataQuery.model_json_schema())
    definitions = schema.pop("$defs", {})
    for name in LEFT_OUT:
        schema["properties"].pop(name)
    schema = _plain(schema)
    schema.update(type="object", additionalProperties=False, required=["metric"])
    return schema, definitions


def _listing_schema(route: str) -> tuple[dict[str, Any], dict[str, Any]]:
    arguments = copy.deepcopy(TOOLS[route].arguments.model_json_schema())
    definitions = arguments.pop("$defs", {})
    properties = {"route": {"const": route}, **_plain(arguments.get("properties", {}))}
    return (
        {
            "type": "object",
            "properties": properties,
            "required": ["route", *arguments.get("required", [])],
            "additionalProperties": False,
        },
        definitions,
    )


@lru_cache(maxsize=1)
def _schema_text() -> str:
    options: list[dict[str, Any]] = []
    definitions: dict[str, Any] = {}
    query, found = _query_schema()
    options.append(query)
    definitions.update(found)
    for route in LISTINGS:
        listing, found = _listing_schema(route)
        options.append(listing)
        definitions.update(found)
    for route in (KNOWLEDGE, ASK_BACK):
        options.append(
            {
                "type": "object",
                "properties": {"route": {"const": route}},
                "required": ["route"],
                "additionalProperties": False,
            }
        )
    return json.dumps({"$defs": _plain(definitions), "oneOf": options}, sort_keys=True)


def router_schema() -> dict[str, Any]:
    """The JSON schema of the router's output (the grammar it is decoded under)."""
    return json.loads(_schema_text())  # type: ignore[no-any-return]


def completion_text(output: dict[str, Any]) -> str:
    """An output as the grammar writes it: compact, required keys first, then the others, each
    in alphabetical order (see the module docstring)."""
    required = {"metric"} if "metric" in output else {"route", *(("query",) if "query" in output else ())}
    keys = sorted(k for k in output if k in required) + sorted(k for k in output if k not in required)
    return json.dumps({key: output[key] for key in keys}, separators=(",", ":"), ensure_ascii=False)


@dataclass
class RouterReading:
    """What the router's text says: route "query" (with the validated query), a listing (with
    its validated arguments), "knowledge", "ask_back", or "invalid" (with why)."""

    route: str
    text: str
    query: DataQuery | None = None
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    problem: str = ""

    @property
    def valid(self) -> bool:
        return self.route != "invalid"


def read_output(text: str) -> RouterReading:
    """The router's (grammar-decoded) text, validated by the query's and the tools' own models."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return RouterReading("invalid", text, problem=f"not JSON ({error.msg}); the output may have been cut short")
    if not isinstance(value, dict):
        return RouterReading("invalid", text, problem="not a JSON object")
    if "metric" in value:
        try:
            query = TOOLS["data_query"].validate(value)
        except ToolError as error:
            return RouterReading("invalid", text, problem=str(error))
        return RouterReading("query", text, query=query, tool="data_query", arguments=query.arguments())
    route = value.get("route")
    if route in (KNOWLEDGE, ASK_BACK):
        return RouterReading(str(route), text)
    if route not in LISTINGS:
        return RouterReading("invalid", text, problem=f"unknown route {route!r}")
    arguments = {key: item for key, item in value.items() if key != "route"}
    try:
        valid = TOOLS[str(route)].validate(arguments)
    except ToolError as error:
        return RouterReading("invalid", text, problem=str(error))
    return RouterReading("listing", text, tool=str(route), arguments=valid.model_dump(mode="json", exclude_none=True))
