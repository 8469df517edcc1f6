"""OpenAI-shaped errors with the right status, without a worker (the checks come first)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]


def _post(path: str, body: object, key: str | None) -> object:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, str) else __import__("json").dumps(body)
    return Client().post(path, data=data, content_type="application/json", **headers)


def test_requests_without_a_valid_key_get_401_in_openai_shape(default_version):
    for key in (None, "oq_not-a-key"):
        response = _post("/v1/chat/completions", {"messages": PROMPT}, key)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert Client().get("/v1/models").status_code == 401


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("{not json", None),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": PROMPT, "max_tokens": 0}, "max_tokens"),
        ({"messages": PROMPT, "temperature": 3}, "temperature"),
        ({"messages": PROMPT, "top_p": "high"}, "top_p"),
        ({"messages": PROMPT, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": PROMPT, "seed": 1.5}, "seed"),
        ({"messages": PROMPT, "n": 2}, "n"),
        ({"messages": PROMPT, "stop": ""}, "stop[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content"),
        ({"messages": PROMPT, "response_format": {"type": "xml"}}, "response_format.type"),
        ({"messages": PROMPT, "response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        (
            {"messages": PROMPT, "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format.json_schema.name",
        ),
        (
            {
                "messages": PROMPT,
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 7}}},
            },
            "response_format.json_schema.schema",
        ),
    ],
)
def test_a_malformed_body_gets_400_naming_the_parameter(api_key, default_version, body, param):
    response = _post("/v1/chat/completions", body, api_key)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


def test_an_unknown_model_gets_404_and_no_worker_gets_503_with_retry_after(api_key, default_version):
    missing = _post("/v1/chat/completions", {"model": "gpt-4", "messages": PROMPT}, api_key)
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "model"
    embed_missing = _post("/v1/embeddings", {"model": "gpt-4", "input": "x"}, api_key)
    assert embed_missing.status_code == 404

    unavailable = _post("/v1/chat/completions", {"messages": PROMPT}, api_key)
    assert unavailable.status_code == 503
    assert int(unavailable["Retry-After"]) >= 1
    assert unavailable.json()["error"]["code"] == "no_worker_available"


def test_embeddings_answer_in_the_web_process_as_floats_or_base64(api_key):
    floats = _post("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": ["a", "b"]}, api_key).json()
    assert [len(d["embedding"]) for d in floats["data"]] == [384, 384]
    encoded = _post("/v1/embeddings", {"input": "a", "encoding_format": "base64"}, api_key).json()
    assert isinstance(encoded["data"][0]["embedding"], str)
