"""Shared fixtures: real PostgreSQL + pgvector, a real broker and real Celery workers.

The database and broker come from optiq_site.settings.test (embedded and private to this
run unless TEST_DATABASE_URL / TEST_REDIS_URL are set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def bearer_client(db) -> Callable[..., APIClient]:  # type: ignore[no-untyped-def]
    """An APIClient authenticated by a fresh API key of the given (or a new) user."""
    from accounts.services import api_key_create

    def make(user=None) -> APIClient:  # type: ignore[no-untyped-def]
        owner = user or UserFactory()
        _, raw = api_key_create(user=owner)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.user = owner  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def celery_worker(transactional_db) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A real Celery worker (in a thread of this process) consuming every queue from the real broker."""
    from celery.contrib.testing.worker import start_worker

    from optiq_site.celery import app

    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["default", "inference", "training"],
        shutdown_timeout=30,
    ) as worker:
        yield worker
    # A worker in a thread sends no worker_shutdown: stop the inference heartbeat it started here.
    from assistant.llm import runtime

    if runtime._heartbeat_started:
        runtime.stop_heartbeat()


@pytest.fixture
def worker_process(transactional_db) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:  # type: ignore[no-untyped-def]
    """Start `celery worker` processes, as production runs them, pointed at the test database."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        *,
        queues: str = "default,inference,training",
        concurrency: int = 1,
        pool: str = "prefork",
        name: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        from optiq_site.celery import app

        node = name or f"test-{len(started)}-{os.getpid()}@%h"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
            "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            **(extra_env or {}),
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "optiq_site",
                "worker",
                "-Q",
                queues,
                "-P",
                pool,
                "-c",
                str(concurrency),
                "-n",
                node,
                "-l",
                "INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        hostname = node.replace("%h", os.uname().nodename)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"worker exited early:\n{output[-3000:]}")
            replies = app.control.ping(destination=[hostname], timeout=0.5)
            if replies:
                return process
        raise RuntimeError("worker did not answer a ping within 60 s")

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
