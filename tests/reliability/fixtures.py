"""Fixtures for tests that run the platform's real processes against load, faults and a fuzzer:
a broker of the test's own (so that pausing it, or the tasks a fuzzer queues, leave the
session's broker alone), inference workers on it, and a small demo practice with one API key
per role. Imported by the conftest of tests/reliability and tests/fuzz."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from django.db import connection

from optiq_site import embedded
from tests.conftest import _log_tail, _start_logged

# A demo practice small enough to build in seconds, with every kind of record in it.
SMALL_DEMO = {"patients": 40, "sales": 120, "products": 60, "seed": 7}


@dataclass
class Broker:
    url: str
    pid: int

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def env(self) -> dict[str, str]:
        """What a process started by a test needs to use this broker."""
        return {"TEST_REDIS_URL": self.url, "REDIS_URL": self.url, "CELERY_BROKER_URL": self.url}


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[Broker]:
    data_dir = tmp_path / "valkey"
    url = embedded.valkey_start(data_dir, persist=False)
    broker = Broker(url=url, pid=int((data_dir / "valkey.pid").read_text()))
    yield broker
    broker.resume()
    embedded.valkey_stop(data_dir)


@pytest.fixture
def inference_worker_on(transactional_db: Any, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a real `celery worker -Q inference` (prefork, as `make run` starts it) on a private
    broker and wait until each of its child processes beats a heartbeat there."""
    from assistant.llm import streams

    started: list[subprocess.Popen[bytes]] = []

    def start(
        broker: Broker, *, concurrency: int = 1, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
            "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
            "OPTIQ_LLM_THREADS": "1",
            **broker.env(),
            **(extra_env or {}),
        }
        name = f"reliability-{len(started)}-{os.getpid()}@%h"
        command = [sys.executable, "-m", "celery", "-A", "optiq_site", "worker", "-Q", "inference"]
        command += ["-c", str(concurrency), "-n", name, "--without-mingle", "--without-gossip", "-l", "INFO"]
        process, log_path = _start_logged(command, env=env, log_dir=tmp_path, name=f"inference-{len(started)}")
        started.append(process)
        conn = broker.client()
        before = conn.zcard(streams.WORKERS_KEY)
        deadline = time.monotonic() + 90
        while conn.zcard(streams.WORKERS_KEY) < before + concurrency:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the inference worker did not start:\n{_log_tail(log_path)}")
            time.sleep(0.1)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Practice:
    """The small demo practice: its demo logins (manager, reception, optometrist, dispenser,
    mladmin) and an API key for each."""

    users: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[username]}"}


@pytest.fixture
def small_practice(transactional_db: Any, settings: Any, tmp_path: Path) -> Practice:
    """The demo practice at a small size, committed (servers the test starts read it), with one
    API key per demo login."""
    from django.contrib.auth import get_user_model

    from accounts.services import api_key_create
    from practice.demo.builder import DEMO_STAFF, build_demo

    settings.DATA_DIR = tmp_path  # the demo staff's password file
    build_demo(**SMALL_DEMO)
    users = get_user_model().objects.in_bulk([u for u, *_ in DEMO_STAFF], field_name="username")
    practice = Practice(users=users)
    for username in users:
        practice.keys[username] = api_key_create(user=users[username], name=f"{username}-reliability")[1]
    return practice


def database_connections(database: str | None = None) -> int:
    """Client connections to the test database now open on the server (pg_stat_activity),
    this test process's own query included."""
    settings_dict = connection.settings_dict
    name = database or settings_dict["NAME"]
    with psycopg.connect(
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        user=settings_dict["USER"] or None,
        password=settings_dict["PASSWORD"] or None,
        dbname=name,
        autocommit=True,
    ) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [name]
        ).fetchone()
    return int(row[0]) - 1 if row else 0
