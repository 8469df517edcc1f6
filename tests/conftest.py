"""Shared fixtures: real PostgreSQL + pgvector, a real broker and real Celery workers.

The database and broker are a private embedded pair started for this run by the
tests.embedded_test_services plugin (unless TEST_DATABASE_URL / TEST_REDIS_URL are set).
"""

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
from rest_framework.test import APIClient

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[1]


def _log_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _start_logged(
    command: list[str], *, env: dict[str, str], log_dir: Path, name: str
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start a child process whose output goes to a file: an unread pipe would block a chatty
    child once the pipe buffer fills."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, log_path


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
def worker_process(transactional_db, tmp_path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:  # type: ignore[no-untyped-def]
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
        command = [
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
        ]
        process, log_path = _start_logged(command, env=env, log_dir=tmp_path, name=f"worker-{len(started)}")
        started.append(process)
        hostname = node.replace("%h", os.uname().nodename)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{_log_tail(log_path)}")
            replies = app.control.ping(destination=[hostname], timeout=0.5)
            if replies:
                return process
        raise RuntimeError(f"worker did not answer a ping within 60 s:\n{_log_tail(log_path)}")

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def shared_base_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One conversion of each GGUF base for the whole run: the real fine-tune and the GGUF export
    tests train on the same Gemma and SmolLM2 files (about a minute and 1 GB each to convert)."""
    from django.test import override_settings

    cache = tmp_path_factory.mktemp("base-cache")
    with override_settings(BASE_CACHE_DIR=cache):
        yield cache


@pytest.fixture(scope="session")
def default_gguf() -> Path:
    """The Gemma 3 270M GGUF, assembled from its pip package (no download)."""
    from assistant.llm.default_model import ensure_default_model

    return ensure_default_model()


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
def live_api(transactional_db, tmp_path) -> Iterator[Callable[..., str]]:  # type: ignore[no-untyped-def]
    """Serve the ASGI app with uvicorn on a free port, pointed at the test database; returns its base URL.

    Each server has its own empty PROMETHEUS_MULTIPROC_DIR, as the runner gives `make run`'s."""
    started: list[subprocess.Popen[bytes]] = []

    def start(extra_env: dict[str, str] | None = None, *, workers: int = 1) -> str:
        port = free_port()
        metrics_dir = tmp_path / f"prometheus-{len(started)}"
        metrics_dir.mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
            "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **(extra_env or {}),
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "optiq_site.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        process, log_path = _start_logged(command, env=env, log_dir=tmp_path, name=f"uvicorn-{len(started)}")
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{_log_tail(log_path)}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not answer within 60 s:\n{_log_tail(log_path)}")

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
