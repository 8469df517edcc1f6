"""Routing with a router active: a reading that validates is run as the parser's would be (the
answer's source says "router" and keeps the structured query); one that fails validation, one
naming what the catalogue does not hold, and a router that cannot be reached all leave the
question to the parser; rolling the first router back switches the router off."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.chat.data_answers import plan_question, run_plan
from assistant.chat.drafts import Draft
from assistant.router.planning import active_router, plan_with_router
from assistant.tools.planner import plan_from_parser
from assistant.tools.toolset import ToolContext
from practice import roles
from tests.practice.factories import stocked_product, user_in_role

TODAY = date(2026, 11, 18)
QUESTION = "How many Oakley frames did we sell last month?"


@pytest.fixture
def router(db, default_gguf: Path):  # type: ignore[no-untyped-def]
    """A router version (the base GGUF itself: what is tested here is the routing around it)."""
    from assistant.registry.services import model_version_register

    return model_version_register(
        name="router-under-test", path=default_gguf, role="router", chat_format="gemma", activate=True
    )


@pytest.fixture
def manager(db):  # type: ignore[no-untyped-def]
    stocked_product(category="frame", brand="Oakley")
    return user_in_role(roles.MANAGER, username="manager-router")


def _decoded(text: str):  # type: ignore[no-untyped-def]
    def decode(question: str, *, version: object) -> str:
        return text

    return decode


def test_a_valid_reading_is_run_and_the_source_says_router_with_the_structured_query(router, manager):
    parsed = plan_from_parser(QUESTION, user=manager, today=TODAY)
    text = '{"metric":"units","brand":"Oakley","category":"frame","period":"last month"}'
    plan = plan_with_router(QUESTION, parsed, user=manager, today=TODAY, version=router, decode=_decoded(text))
    assert plan.planner == "router" and plan.route == "tools"
    draft = Draft()
    run_plan(plan, ToolContext(user=manager, today=TODAY), draft)
    assert draft.kind == "data" and draft.planner == "router"
    assert draft.sources[0]["planner"] == "router"
    query = draft.tool_calls[0]["arguments"]
    assert (query["metric"], query["brand"], query["category"], query["period"]) == (
        "units",
        "Oakley",
        "frame",
        "last month",
    )
    assert draft.tool_calls[0]["model_call"]["router"] == router.name
    assert draft.text.startswith("Last month (1–31 October 2026)")


def test_a_reading_that_fails_validation_leaves_the_question_to_the_parser(router, manager):
    parsed = plan_from_parser(QUESTION, user=manager, today=TODAY)
    calls = list(parsed.calls)
    text = '{"metric":"stock_on_hand","period":"last month"}'  # a stock figure takes no period
    plan = plan_with_router(QUESTION, parsed, user=manager, today=TODAY, version=router, decode=_decoded(text))
    assert plan.planner == "parser" and plan.calls == calls
    assert plan.notes["model_call"]["used"] is False and "takes no period" in plan.notes["model_call"]["why"]


def test_a_query_naming_what_the_catalogue_does_not_hold_falls_back_when_it_runs(router, manager):
    parsed = plan_from_parser(QUESTION, user=manager, today=TODAY)
    text = '{"metric":"units","brand":"Gucci","period":"last month"}'
    plan = plan_with_router(QUESTION, parsed, user=manager, today=TODAY, version=router, decode=_decoded(text))
    draft = Draft()
    run_plan(plan, ToolContext(user=manager, today=TODAY), draft)
    assert draft.planner == "parser" and draft.kind == "data"
    assert draft.tool_calls[0]["arguments"] == parsed.calls[0].arguments
    assert "Gucci" in draft.tool_calls[0]["model_call"]["why"]


def test_knowledge_and_ask_back_are_the_parsers_unless_the_router_is_alone(router, manager):
    parsed = plan_from_parser(QUESTION, user=manager, today=TODAY)
    knowledge = _decoded('{"route":"knowledge"}')
    assert plan_with_router(QUESTION, parsed, user=manager, today=TODAY, version=router, decode=knowledge).planner == (
        "parser"
    )
    fresh = plan_from_parser(QUESTION, user=manager, today=TODAY)
    alone = plan_with_router(QUESTION, fresh, user=manager, today=TODAY, version=router, decode=knowledge, alone=True)
    assert (alone.route, alone.planner) == ("knowledge", "router")


def test_an_unreachable_router_leaves_the_question_to_the_parser(router, manager):
    # No inference worker runs in this test: the router's request fails at once.
    assert active_router() == router
    plan = plan_question(QUESTION, user=manager, today=TODAY)
    parser = plan_from_parser(QUESTION, user=manager, today=TODAY)
    assert (plan.planner, plan.calls) == ("parser", parser.calls)
    assert plan.notes["model_call"]["why"].startswith("failed:")


def test_rolling_back_the_first_router_switches_it_off(router, manager):
    from assistant.models import ModelActivation
    from assistant.registry.services import model_version_rollback

    assert model_version_rollback(role="router", user=manager) is None
    assert active_router() is None
    assert ModelActivation.objects.filter(role="router").first().action == "deactivate"
    plan = plan_question(QUESTION, user=manager, today=TODAY)
    assert plan.planner == "parser" and "model_call" not in plan.notes
    with pytest.raises(Exception, match="no earlier router"):
        model_version_rollback(role="router", user=manager)
