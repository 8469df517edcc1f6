"""Inference workers that die mid-answer (SIGKILL of a real worker child process): the client
hears of it within 5 s in its stream's own format, a request that had no token yet is served by
another worker without the client noticing, and the next request succeeds."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from django.contrib.auth.models import Group

from accounts.services import api_key_create
from assistant.knowledge.services import knowledge_document_ingest
from assistant.llm import streams
from assistant.models import AssistantMessage
from assistant.registry.services import model_version_register
from tests.assistant.inference.server_sent_events import read_events
from tests.factories import UserFactory

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]
ARTICLE = (
    "---\ntitle: Anti-reflective coatings\ncategory: coatings-tints\n---\n# Anti-reflective coatings\n\n"
    "An anti-reflective coating is a stack of thin layers on the lens surface. It reduces the light reflected "
    "by the lens, so more light passes through to the eye and fewer distracting reflections are seen. "
    "A plain lens reflects about 8% of the light; a good coating reduces this to under 1%."
)


KILLED: list[str] = []


def kill_the_busy_worker() -> str:
    """SIGKILL the worker child process serving the request; its heartbeat id is host:pid."""
    busy = [w.decode() for w in streams.connection().hkeys(streams.BUSY_KEY)]
    assert len(busy) == 1, busy
    os.kill(int(busy[0].rsplit(":", 1)[1]), signal.SIGKILL)
    KILLED.append(busy[0])
    return busy[0]


@pytest.fixture(autouse=True)
def _forget_killed_workers():  # type: ignore[no-untyped-def]
    """A killed worker leaves its heartbeat behind: later tests must not count it."""
    yield
    while KILLED:
        streams.worker_gone(streams.connection(), KILLED.pop())


@pytest.fixture
def two_workers(live_api, inference_worker, default_version, api_key):  # type: ignore[no-untyped-def]
    inference_worker(concurrency=2)
    return live_api(), {"Authorization": f"Bearer {api_key}"}


def test_a_worker_killed_mid_stream_ends_the_v1_stream_with_an_error_within_5_s(two_workers):
    base, headers = two_workers
    body = {"messages": PROMPT, "max_tokens": 1500, "temperature": 1.0, "stream": True}
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=60) as response:
        events = read_events(response)
        for _ in range(4):  # the role chunk, then tokens
            next(events)
        kill_the_busy_worker()
        killed_at = time.monotonic()
        rest = list(events)
    errors = [e for e in rest if isinstance(e.data, dict) and "error" in e.data]
    assert errors, f"the stream ended without an error: {[e.data for e in rest][-3:]}"
    assert errors[0].at - killed_at < 5.0, f"the error came {errors[0].at - killed_at:.1f} s after the kill"
    assert errors[0].data["error"]["code"] == "worker_lost"
    # The other worker serves the next request.
    answer = httpx.post(
        f"{base}/v1/chat/completions", json={"messages": PROMPT, "max_tokens": 4}, headers=headers, timeout=60
    )
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] is not None


def test_a_worker_killed_before_the_first_token_is_replaced_without_the_client_noticing(two_workers):
    base, headers = two_workers
    # A long prompt keeps the worker evaluating it for a while before its first token.
    long_question = "Which lens suits me? " + "I read, drive at night and work at a screen all day. " * 110
    body = {"messages": [{"role": "user", "content": long_question}], "max_tokens": 12, "stream": True}
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=120) as response:
        events = read_events(response)
        first = next(events)  # the role chunk: a worker has started on the prompt
        assert first.data["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        killed = kill_the_busy_worker()
        rest = [e.data for e in events]
    assert rest[-1] == "[DONE]", rest[-3:]
    assert not [d for d in rest if isinstance(d, dict) and "error" in d]
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in rest if isinstance(d, dict) and d["choices"])
    # Had a token reached the client from the killed worker, the stream would end with an error.
    assert text, "the answer is empty"
    beat = streams.connection().zscore(streams.WORKERS_KEY, killed)
    assert beat is None or time.time() - beat > streams.WORKER_LOST_SECONDS, "the killed worker still beats"


def test_a_worker_killed_mid_answer_stores_the_thread_answer_as_incomplete(
    live_api, inference_worker, default_version, default_gguf
):
    model_version_register(
        name="gemma-derived", path=default_gguf, chat_format="gemma", base=default_version, activate=True
    )
    knowledge_document_ingest(content=ARTICLE, slug="anti-reflective-coatings", embed="now")
    inference_worker(concurrency=2)
    base = live_api()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="manager"))
    _, key = api_key_create(user=user)
    headers = {"Authorization": f"Bearer {key}"}
    thread = httpx.post(f"{base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30).json()
    url = f"{base}/api/v1/assistant/threads/{thread['id']}/messages/"
    question = {"content": "What does an anti-reflective coating do?", "stream": True, "max_tokens": 300}
    with httpx.stream("POST", url, json=question, headers=headers, timeout=120) as response:
        events = read_events(response)
        for event in events:
            if event.name == "token":
                written = event.data["text"]
                kill_the_busy_worker()
                killed_at = time.monotonic()
                break
        rest = list(events)
    names = [e.name for e in rest]
    assert "error" in names, names
    error = rest[names.index("error")]
    assert error.at - killed_at < 5.0, f"the error came {error.at - killed_at:.1f} s after the kill"
    assert error.data["code"] == "worker_lost" and error.data["message"]
    stored = rest[-1].data
    assert rest[-1].name == "done" and stored["status"] == "incomplete"
    assert stored["content"].startswith(written) and "Sources:" not in stored["content"]
    assert AssistantMessage.objects.get(pk=stored["id"]).status == AssistantMessage.Status.INCOMPLETE
    # The next question is answered in full by the other worker.
    again = httpx.post(url, json={"content": question["content"]}, headers=headers, timeout=120)
    assert again.status_code == 201 and again.json()["status"] == "complete"
