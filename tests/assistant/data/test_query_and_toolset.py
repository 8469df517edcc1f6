"""The structured query and the toolset: validated by pydantic whatever produced the arguments,
enumerations that are the choices' own values, per-argument permissions, and a JSON schema that
llama.cpp turns into a grammar."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser

from assistant.tools import data_query, practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.planner import model_tools, parse_model_call, tool_call_schema
from assistant.tools.query import DataQuery, data_query_schema
from assistant.tools.toolset import TOOLS, ToolError
from practice import roles
from practice.models import LENS_INDEXES, Category, LensType, PaymentMethod
from tests.practice.factories import user_in_role


def test_the_schema_enumerations_are_the_choices_values():
    schema = data_query_schema()
    definitions = schema["$defs"]
    assert definitions["Category"]["enum"] == list(Category.values)
    assert definitions["LensType"]["enum"] == list(LensType.values)
    assert definitions["PaymentMethod"]["enum"] == list(PaymentMethod.values)
    index = schema["properties"]["lens_index"]["anyOf"][0]
    assert index["enum"] == [f"{i:.2f}" for i in LENS_INDEXES]


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"metric": "units", "limit": 99, "group_by": "brand"}, "limit", "less than or equal to 50"),
        ({"metric": "turnips"}, "metric", "Input should be"),
        ({"metric": "units", "category": "hats"}, "category", "Input should be"),
        ({"metric": "units", "start": "2026-10-31", "end": "2026-10-01"}, "arguments", "end must not be before start"),
        ({"metric": "units", "rank": "top"}, "arguments", "rank needs a group_by"),
        ({"metric": "stock_on_hand", "period": "last month"}, "arguments", "takes no period"),
        ({"metric": "units", "category": "frame", "lens_type": "progressive"}, "arguments", "spectacle lenses only"),
        ({"metric": "units", "lab_status": "ready"}, "arguments", "lab_status does not apply to units"),
        ({"metric": "units", "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({"metric": "units", "lens_index": "1.55"}, "lens_index", "must be one of"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field_and_the_rule(arguments, field, rule):
    with pytest.raises(ToolError) as refused:
        TOOLS["data_query"].validate(arguments)
    message = str(refused.value)
    assert message.startswith(f"{field}:") or f"; {field}:" in message, message
    assert rule in message


def test_listing_tools_validate_their_arguments_with_pydantic_too():
    with pytest.raises(ToolError, match="query:"):
        TOOLS["product_lookup"].validate({"query": ""})
    assert TOOLS["low_stock"].validate({"category": "frame"}).category == Category.FRAME
    with pytest.raises(ToolError, match="category:"):
        TOOLS["low_stock"].validate({"category": "hats"})


@pytest.mark.django_db
def test_permissions_follow_the_arguments_reception_is_refused_cost_figures_and_reports():
    reception = user_in_role(roles.RECEPTION, username="reception-q")
    manager = user_in_role(roles.MANAGER, username="manager-q")
    tool = TOOLS["data_query"]
    margin = DataQuery(metric="margin", start="2026-10-01", end="2026-10-31")
    stock_value = DataQuery(metric="stock_value")
    revenue = DataQuery(metric="revenue", start="2026-10-01", end="2026-10-31")
    stock = DataQuery(metric="stock_on_hand")
    assert tool.refusal_for(reception, margin) == "Sorry, you don't have permission to see cost prices and margins."
    assert (
        tool.refusal_for(reception, stock_value) == "Sorry, you don't have permission to see cost prices and margins."
    )
    assert tool.refusal_for(reception, revenue) == "Sorry, you don't have permission to see sales reports."
    assert tool.refusal_for(reception, stock) is None
    assert all(tool.refusal_for(manager, query) is None for query in (margin, stock_value, revenue, stock))
    assert not tool.allowed(AnonymousUser(), stock)
    assert "practice.view_cost_price" in tool.permissions_for(margin)


def test_the_tool_call_schema_compiles_to_a_llama_cpp_grammar_and_a_valid_call_parses():
    from llama_cpp import LlamaGrammar

    schema = tool_call_schema([TOOLS["data_query"], TOOLS["low_stock"]])
    assert LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False) is not None
    call, why = parse_model_call(
        '{"tool": "data_query", "arguments": {"metric": "units", "period": "last month", "category": "frame"}}'
    )
    assert why == "" and call is not None
    assert call.arguments == {"metric": "units", "period": "last month", "category": "frame"}
    assert parse_model_call('{"tool": "none"}') == (None, "none")
    assert parse_model_call('{"tool": "data_query", "arguments": {"metric": "turnips"}}')[0] is None
    assert parse_model_call('{"tool": "delete_everything", "arguments": {}}')[1] == "unknown tool 'delete_everything'"


@pytest.mark.django_db
def test_a_model_is_offered_only_the_listing_tools_its_user_may_run():
    reception = user_in_role(roles.RECEPTION, username="reception-m")
    names = [tool.name for tool in model_tools(reception)]
    assert names[0] == "data_query" and "low_stock" in names
    assert "product_cost" not in names and "patient_lookup" not in names
