"""Inference workers: hot swap on activation, parallel requests, queue-wait 503, the client."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from assistant.llm import streams
from assistant.llm.client import achat_stream, chat_complete
from assistant.llm.errors import ModelNotFound, NoWorkerAvailable
from assistant.registry.services import model_version_activate, model_version_register, model_version_rollback

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]


def _loaded_models() -> set[str]:
    return {v.decode() for v in streams.connection().hvals(streams.LOADED_KEY)}


def test_activating_another_version_switches_answers_without_restarting_the_worker(
    inference_worker, default_version, default_gguf
):
    worker = inference_worker()
    first = chat_complete(messages=PROMPT, max_tokens=4)
    assert first.model == default_version.name
    assert first.text and first.usage["completion_tokens"] >= 1

    # Same weights under other load parameters: a different version the worker must load.
    tuned = model_version_register(
        name="gemma-ctx1024", path=default_gguf, chat_format="gemma", n_ctx=1024, base=default_version
    )
    model_version_activate(model_version=tuned)
    swapped = chat_complete(messages=PROMPT, max_tokens=4)
    assert swapped.model == "gemma-ctx1024"
    assert _loaded_models() == {"gemma-ctx1024"}

    model_version_rollback()
    assert chat_complete(messages=PROMPT, max_tokens=4).model == default_version.name
    assert worker.poll() is None, "the worker process was restarted"


def test_two_worker_processes_generate_two_requests_at_once_and_a_third_waits_then_gets_503(
    inference_worker, default_version, settings
):
    inference_worker(concurrency=2)
    settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT = 1.5
    long = {"messages": PROMPT, "max_tokens": 1500, "temperature": 1.0}

    async def two_busy_then_a_third() -> int:
        first, second = await achat_stream(**long), await achat_stream(**long)
        try:
            await anext(first), await anext(second)
            assert streams.connection().hlen(streams.BUSY_KEY) == 2
            with pytest.raises(NoWorkerAvailable) as caught:
                await achat_stream(messages=PROMPT, max_tokens=4)
            return caught.value.retry_after
        finally:
            await first.aclose()
            await second.aclose()

    assert async_to_sync(two_busy_then_a_third)() >= 1
    # Closing the streams stopped both generations: the next request is served.
    settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT = 20
    assert chat_complete(messages=PROMPT, max_tokens=3).text is not None


@pytest.mark.django_db
def test_without_any_inference_worker_the_client_raises_503_at_once(default_version, settings):
    settings.OPTIQ_INFERENCE_QUEUE_TIMEOUT = 30
    with pytest.raises(NoWorkerAvailable, match="-Q inference"):
        chat_complete(messages=PROMPT, max_tokens=4)


@pytest.mark.django_db
def test_an_unknown_model_name_raises_model_not_found(default_version):
    with pytest.raises(ModelNotFound, match="no-such-model"):
        chat_complete(messages=PROMPT, model="no-such-model")


def test_the_last_delta_carries_finish_reason_and_usage(inference_worker, default_version):
    inference_worker()

    async def read_all() -> list:
        return [delta async for delta in await achat_stream(messages=PROMPT, max_tokens=5, temperature=0.0)]

    deltas = async_to_sync(read_all)()
    assert all(d.finish_reason is None for d in deltas[:-1])
    assert deltas[-1].finish_reason == "length"
    assert deltas[-1].usage["completion_tokens"] == 5
    assert "".join(d.text for d in deltas)
