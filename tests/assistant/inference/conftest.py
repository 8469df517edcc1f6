"""Fixtures for the inference service: the real default GGUF, real inference workers, and the
ASGI app served by uvicorn in a subprocess (as `make run` serves it) so that streaming and
disconnects behave as in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The Gemma 3 270M GGUF, assembled from its pip package (no download)."""
    from assistant.llm.default_model import ensure_default_model

    return ensure_default_model()


@pytest.fixture(autouse=True)
def _no_stale_workers() -> Iterator[None]:
    """Heartbeats of workers stopped by an earlier test must not count as live workers."""
    from assistant.llm import streams

    conn = streams.connection()
    conn.delete(streams.WORKERS_KEY, streams.LOADED_KEY, streams.BUSY_KEY)
    yield


@pytest.fixture
def default_version(db, default_gguf):  # type: ignore[no-untyped-def]
    from assistant.registry.services import default_model_register

    version, _ = default_model_register()
    return version


@pytest.fixture
def inference_worker(worker_process) -> Callable[..., subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """Start a real `celery worker -Q inference` (prefork) and wait for its process heartbeats."""
    from assistant.llm import streams

    def start(concurrency: int = 1, **kwargs) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
        before = len(streams.live_workers(streams.connection()))
        process = worker_process(
            queues="inference", concurrency=concurrency, extra_env={"OPTIQ_LLM_THREADS": "1"}, **kwargs
        )
        deadline = time.monotonic() + 30
        while len(streams.live_workers(streams.connection())) < before + concurrency:
            assert time.monotonic() < deadline, "inference worker processes sent no heartbeat"
            time.sleep(0.1)
        return process

    return start


@pytest.fixture
def live_api(transactional_db) -> Iterator[Callable[..., str]]:  # type: ignore[no-untyped-def]
    """Serve the ASGI app with uvicorn on a free port, pointed at the test database; returns its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(extra_env: dict[str, str] | None = None) -> str:
        port = free_port()
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
                "uvicorn",
                "optiq_site.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise RuntimeError(f"uvicorn exited early:\n{output[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not answer within 60 s")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def api_key(db) -> str:  # type: ignore[no-untyped-def]
    from accounts.services import api_key_create
    from tests.factories import UserFactory

    _, raw = api_key_create(user=UserFactory())
    return raw
