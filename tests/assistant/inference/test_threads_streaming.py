"""The threads API's answers under the real server (uvicorn): tokens arrive while the worker is
still generating, and a client that goes away keeps what was written, marked stopped."""

from __future__ import annotations

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

ARTICLE = (
    "---\ntitle: Anti-reflective coatings\ncategory: coatings-tints\n---\n# Anti-reflective coatings\n\n"
    "An anti-reflective coating is a stack of thin layers on the lens surface. It reduces the light reflected "
    "by the lens, so more light passes through to the eye and fewer distracting reflections are seen. "
    "A plain lens reflects about 8% of the light; a good coating reduces this to under 1%."
)
QUESTION = "What does an anti-reflective coating do?"


@pytest.fixture
def asking(live_api, inference_worker, default_version, default_gguf):  # type: ignore[no-untyped-def]
    """A live server, one inference worker, a model that answers in its own words and an article."""
    # A version derived from the base (as a fine-tuned one is) answers in its own words.
    model_version_register(
        name="gemma-derived", path=default_gguf, chat_format="gemma", base=default_version, activate=True
    )
    knowledge_document_ingest(content=ARTICLE, slug="anti-reflective-coatings", embed="now")
    inference_worker()
    base = live_api()
    user = UserFactory()
    user.groups.add(Group.objects.get(name="manager"))
    _, key = api_key_create(user=user)
    headers = {"Authorization": f"Bearer {key}"}
    thread = httpx.post(f"{base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30).json()
    return f"{base}/api/v1/assistant/threads/{thread['id']}/messages/", headers


def test_tokens_reach_the_client_while_the_worker_is_still_generating(asking):
    url, headers = asking
    conn = streams.connection()
    busy_at_first_token = None
    with httpx.stream(
        "POST", url, json={"content": QUESTION, "stream": True, "max_tokens": 300}, headers=headers, timeout=120
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = []
        for event in read_events(response):
            if event.name == "token" and busy_at_first_token is None:
                busy_at_first_token = conn.hlen(streams.BUSY_KEY)
            events.append(event)
    names = [e.name for e in events]
    assert names[0] == "sources" and names[-1] == "done" and names.count("token") >= 2, names
    tokens = [e for e in events if e.name == "token"]
    done = events[-1]
    # Buffered, every event would arrive at once after the worker had finished.
    assert busy_at_first_token == 1, "the first token arrived after the worker had finished generating"
    assert done.at - tokens[0].at > 0.3, f"the first token came only {done.at - tokens[0].at:.3f} s before done"
    message = done.data
    assert message["status"] == "complete" and message["kind"] == "knowledge"
    assert "".join(e.data["text"] for e in tokens) == message["content"]
    assert AssistantMessage.objects.get(pk=message["id"]).status == AssistantMessage.Status.COMPLETE
    # `Accept: text/event-stream` asks for the same stream.
    with httpx.stream(
        "POST", url, json={"content": "Hello"}, headers={**headers, "Accept": "text/event-stream"}, timeout=120
    ) as response:
        assert response.status_code == 200
        names = [e.name for e in read_events(response)]
    assert names[0] == "sources" and names[-1] == "done"


def test_a_client_that_goes_away_keeps_what_was_written_as_stopped_and_frees_the_worker(asking):
    url, headers = asking
    conn = streams.connection()
    with httpx.stream(
        "POST", url, json={"content": QUESTION, "stream": True, "max_tokens": 300}, headers=headers, timeout=120
    ) as response:
        for event in read_events(response):
            if event.name == "token":
                first_words = event.data["text"]
                break
    # Hung up after the first sentence: the answer is stored with what was written, as stopped.
    deadline = time.monotonic() + 15
    while not (stored := AssistantMessage.objects.filter(role="assistant").first()):
        assert time.monotonic() < deadline, "the stopped answer was not stored"
        time.sleep(0.1)
    assert stored.status == AssistantMessage.Status.STOPPED
    assert stored.content.startswith(first_words) and "Sources:" not in stored.content
    while conn.hlen(streams.BUSY_KEY):
        assert time.monotonic() < deadline, "the worker kept generating for a client that had gone"
        time.sleep(0.05)
    # The thread reads back as stored, and the next question is answered in full.
    listed = httpx.get(url, headers=headers, timeout=30).json()
    assert [m["status"] for m in listed] == ["complete", "stopped"]
    answer = httpx.post(url, json={"content": QUESTION}, headers=headers, timeout=120)
    assert answer.status_code == 201 and answer.json()["status"] == "complete"
