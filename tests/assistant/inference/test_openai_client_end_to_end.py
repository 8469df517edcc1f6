"""The official `openai` client against a live OptiQ (uvicorn -> Celery -> llama-cpp-python worker)."""

from __future__ import annotations

import re
import time

import httpx
import openai
import pytest

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]


@pytest.fixture
def live(live_api, inference_worker, default_version, api_key):  # type: ignore[no-untyped-def]
    base = live_api()
    inference_worker()
    return base, openai.OpenAI(base_url=f"{base}/v1", api_key=api_key, max_retries=0, timeout=60)


def test_openai_client_lists_the_default_model_and_streams_an_answer_with_a_usage_chunk(live, default_version):
    _base, client = live
    ids = [m.id for m in client.models.list().data]
    assert ids[0] == default_version.name
    assert "optiq" in ids and "all-MiniLM-L6-v2" in ids

    chunks = list(client.chat.completions.create(model=ids[0], messages=PROMPT, max_tokens=12, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals and finals[-1].choices[0].finish_reason in ("length", "stop")
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.completion_tokens > 0 and usage.prompt_tokens > 5
    assert all(c.model == default_version.name for c in chunks)


def test_non_streaming_chat_and_completions_return_openai_objects_and_seed_makes_them_repeatable(live):
    _, client = live
    first = client.chat.completions.create(model="optiq", messages=PROMPT, max_tokens=8, temperature=0.8, seed=7)
    second = client.chat.completions.create(model="optiq", messages=PROMPT, max_tokens=8, temperature=0.8, seed=7)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.choices[0].message.role == "assistant"
    assert first.usage.completion_tokens <= 8 + 1

    completion = client.completions.create(model="optiq", prompt="Progressive lenses are", max_tokens=6)
    assert completion.object == "text_completion" and completion.choices[0].text

    stopped = client.completions.create(model="optiq", prompt="1, 2, 3, 4,", max_tokens=12, temperature=0.0, stop=["7"])
    assert "7" not in stopped.choices[0].text


def test_embeddings_through_the_openai_client_are_384_unit_vectors(live):
    _, client = live
    result = client.embeddings.create(model="all-MiniLM-L6-v2", input=["progressive lenses", "bifocals"])
    assert [len(d.embedding) for d in result.data] == [384, 384]
    assert abs(sum(x * x for x in result.data[0].embedding) - 1.0) < 1e-3


def test_the_seed_curl_request_without_a_model_uses_the_active_model(live, default_version, api_key):
    base, _ = live
    response = httpx.post(
        f"{base}/v1/chat/completions",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=60,
        json={"messages": PROMPT, "max_tokens": 10},
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == default_version.name


def test_a_client_that_disconnects_mid_stream_frees_the_worker(live, api_key):
    from assistant.llm import streams

    base, client = live
    conn = streams.connection()
    with (
        httpx.Client(timeout=60) as http,
        http.stream(
            "POST",
            f"{base}/v1/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"messages": PROMPT, "max_tokens": 2000, "stream": True, "temperature": 1.0},
        ) as response,
    ):
        lines = response.iter_lines()
        for _ in range(4):
            next(lines)
        assert conn.hlen(streams.BUSY_KEY) == 1
    # Hung up after a few tokens of a 2000-token answer: the only worker must be free again quickly.
    deadline = time.monotonic() + 10
    while conn.hlen(streams.BUSY_KEY):
        assert time.monotonic() < deadline, "the worker kept generating for a client that had gone"
        time.sleep(0.05)
    answer = client.chat.completions.create(model="optiq", messages=PROMPT, max_tokens=4)
    assert answer.choices[0].message.content is not None


def test_metrics_report_requests_tokens_and_latency_per_model(live, default_version, api_key):
    base, client = live
    client.chat.completions.create(model="optiq", messages=PROMPT, max_tokens=6, stream=False)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=PROMPT, max_tokens=6)
    text = httpx.get(f"{base}/metrics", timeout=10).text
    name = default_version.name
    assert f'optiq_inference_requests_total{{endpoint="chat.completions",model="{name}",status="200"}} 1.0' in text
    assert 'optiq_inference_requests_total{endpoint="chat.completions",model="-",status="404"} 1.0' in text
    assert f'optiq_inference_generated_tokens_total{{model="{name}"}}' in text
    assert f'optiq_inference_time_to_first_token_seconds_count{{model="{name}"}} 1.0' in text
    assert f'optiq_inference_queue_wait_seconds_count{{model="{name}"}} 1.0' in text
    assert f'optiq_inference_tokens_per_second_count{{model="{name}"}} 1.0' in text
    assert re.search(r'optiq_inference_worker_loaded_model\{[^}]*model="' + re.escape(name) + '"', text)
