"""A broker that hangs (SIGSTOP on a private Valkey): requests that need it answer 503 JSON
with Retry-After within 2 s, those that don't keep working, and after SIGCONT all recover."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest
import redis
from django.contrib.auth.models import Group
from django.db import connection

from accounts.services import api_key_create
from assistant.knowledge.services import knowledge_document_ingest
from assistant.llm import streams
from assistant.models import AssistantMessage
from assistant.registry.services import model_version_activate, model_version_register
from optiq_site.embedded import valkey_start, valkey_stop
from tests.conftest import _start_logged
from tests.factories import UserFactory

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]
ARTICLE = (
    "---\ntitle: Anti-reflective coatings\ncategory: coatings-tints\n---\n# Anti-reflective coatings\n\n"
    "An anti-reflective coating is a stack of thin layers on the lens surface. It reduces the light reflected "
    "by the lens, so more light passes through to the eye and fewer distracting reflections are seen."
)


@pytest.fixture
def private_broker(tmp_path):  # type: ignore[no-untyped-def]
    """A Valkey of this test's own, so that pausing it leaves the session's broker alone."""
    data_dir = tmp_path / "valkey"
    url = valkey_start(data_dir, persist=False)
    pid = int((data_dir / "valkey.pid").read_text())
    yield url, pid
    os.kill(pid, signal.SIGCONT)
    valkey_stop(data_dir)


@pytest.fixture
def inference_worker_on(transactional_db, tmp_path):  # type: ignore[no-untyped-def]
    started: list[subprocess.Popen[bytes]] = []

    def start(url: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
            "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            "TEST_REDIS_URL": url,
            "REDIS_URL": url,
            "CELERY_BROKER_URL": url,
            "OPTIQ_LLM_THREADS": "1",
        }
        command = [sys.executable, "-m", "celery", "-A", "optiq_site", "worker", "-Q", "inference", "-c", "1"]
        command += ["-n", f"broker-fault-{os.getpid()}@%h", "--without-mingle", "--without-gossip", "-l", "INFO"]
        process, _ = _start_logged(command, env=env, log_dir=tmp_path, name="inference-worker")
        started.append(process)
        conn = redis.Redis.from_url(url)
        deadline = time.monotonic() + 60
        while not conn.zcard(streams.WORKERS_KEY):
            assert process.poll() is None and time.monotonic() < deadline, "the inference worker did not start"
            time.sleep(0.1)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _timed(call):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_hung_broker_is_a_503_within_2_s_for_generation_while_data_and_quoted_answers_work(
    private_broker, inference_worker_on, live_api, default_version, default_gguf
):
    from practice.models import Product

    url, valkey_pid = private_broker
    derived = model_version_register(
        name="gemma-derived", path=default_gguf, chat_format="gemma", base=default_version, activate=True
    )
    knowledge_document_ingest(content=ARTICLE, slug="anti-reflective-coatings", embed="now")
    Product.objects.create(
        category="frame",
        sku="FR-RB-5154",
        brand="Ray-Ban",
        model="Clubmaster",
        price=Decimal("145.00"),
        reorder_level=3,
    )
    inference_worker_on(url)
    broker_env = {"TEST_REDIS_URL": url, "REDIS_URL": url, "CELERY_BROKER_URL": url, "OPTIQ_BROKER_TIMEOUT_S": "1"}
    base = live_api(extra_env=broker_env)
    user = UserFactory()
    user.groups.add(Group.objects.get(name="manager"))
    _, key = api_key_create(user=user)
    headers = {"Authorization": f"Bearer {key}"}
    thread = httpx.post(f"{base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30).json()
    messages_url = f"{base}/api/v1/assistant/threads/{thread['id']}/messages/"

    def generate() -> httpx.Response:
        body = {"messages": PROMPT, "max_tokens": 4}
        return httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=30)

    def ask(question: str) -> httpx.Response:
        return httpx.post(messages_url, json={"content": question}, headers=headers, timeout=60)

    assert generate().status_code == 200
    assert ask("What does an anti-reflective coating do?").status_code == 201  # warm: retrieval, the model
    stored_before = AssistantMessage.objects.count()

    os.kill(valkey_pid, signal.SIGSTOP)
    try:
        response, took = _timed(generate)
        assert response.status_code == 503 and took < 2.0, (response.status_code, took)
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["code"] == "broker_unavailable"

        response, took = _timed(lambda: ask("What does an anti-reflective coating do?"))
        assert response.status_code == 503 and took < 2.0, (response.status_code, took)
        assert int(response.headers["Retry-After"]) >= 1 and response.json()["code"] == "broker_unavailable"
        assert AssistantMessage.objects.count() == stored_before, "a question that got a 503 was stored"

        data = ask("Which frames are low on stock?")
        assert data.status_code == 201 and data.json()["kind"] == "data"
        model_version_activate(model_version=default_version)  # a base model: quoted, no broker needed
        quoted = ask("What does an anti-reflective coating do?")
        assert quoted.status_code == 201 and quoted.json()["content"].startswith("From “Anti-reflective coatings”")
    finally:
        os.kill(valkey_pid, signal.SIGCONT)

    model_version_activate(model_version=derived)
    deadline = time.monotonic() + 30
    while (response := generate()).status_code != 200:
        assert time.monotonic() < deadline, f"generation did not recover: {response.status_code} {response.text}"
        time.sleep(0.5)
    assert ask("What does an anti-reflective coating do?").json()["status"] == "complete"
