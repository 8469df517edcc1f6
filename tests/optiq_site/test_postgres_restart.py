"""A PostgreSQL restart under a running web server and worker: both find the database again by
themselves within 10 s, and no request after that fails. The PostgreSQL is this test's own,
so the session's database is untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from optiq_site import embedded
from tests.conftest import ROOT

RECOVERY_S = 10


@pytest.fixture
def private_database():
    # A short directory: the server's Unix socket path must stay under ~100 characters.
    root = Path(tempfile.mkdtemp(prefix="optiq-pg-"))
    pgdata = root / "pgdata"
    url = embedded.postgres_start(pgdata, temporary=True)
    env = {
        **{k: v for k, v in os.environ.items() if k != "OPTIQ_TEST_DATABASE_NAME"},
        "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
        "TEST_DATABASE_URL": url,
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    key = (
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.contrib.auth.models import User; from accounts.services import api_key_create; "
                "print(api_key_create(user=User.objects.create_user('restart'))[1])",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    yield pgdata, url, key
    embedded.postgres_stop(pgdata)
    shutil.rmtree(root, ignore_errors=True)


def _me(base: str, key: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/me/", headers={"Authorization": f"Bearer {key}"}, timeout=15)


def _task_stored(url: str, task_id: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT status FROM django_celery_results_taskresult WHERE task_id = %s", [task_id]
        ).fetchone()
    return row is not None and row[0] == "SUCCESS"


def _run_task_on_worker(url: str, queue: str) -> str:
    """A task whose worker writes its result to the database (the django-db result backend)."""
    from optiq_site.celery import app

    task_id = uuid.uuid4().hex
    app.send_task("celery.backend_cleanup", queue=queue, task_id=task_id)
    return task_id


def _wait_stored(url: str, task_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _task_stored(url, task_id):
            return True
        time.sleep(0.2)
    return False


def test_web_and_worker_recover_by_themselves_within_10_s_of_a_postgres_restart(
    private_database, live_api, worker_process
):
    pgdata, url, key = private_database
    extra_env = {"TEST_DATABASE_URL": url, "OPTIQ_TEST_DATABASE_NAME": "optiq", "OPTIQ_DB_POOL_TIMEOUT": "3"}
    base = live_api(extra_env=extra_env)
    queue = f"pg-restart-{os.getpid()}"
    worker_process(queues=queue, name=f"pg-restart-{os.getpid()}@%h", extra_env=extra_env)
    for _ in range(5):
        assert _me(base, key).status_code == 200
    assert _wait_stored(url, _run_task_on_worker(url, queue), 30)

    embedded.postgres_stop(pgdata)
    down = _me(base, key)
    assert down.status_code == 503, down.text  # not a 500: the database is away, not a bug
    assert down.json()["code"] == "database_unavailable"
    started = time.monotonic()
    ready = httpx.get(f"{base}/readyz", timeout=2.0)
    assert ready.status_code == 503 and time.monotonic() - started < 2.0
    assert not {c["name"]: c for c in ready.json()["checks"]}["database"]["ok"]

    assert embedded.postgres_start(pgdata, temporary=True) == url
    back = time.monotonic()
    while _me(base, key).status_code != 200:
        assert time.monotonic() - back < RECOVERY_S, "the web server did not find the database again"
        time.sleep(0.2)
    task_id = _run_task_on_worker(url, queue)
    assert _wait_stored(url, task_id, RECOVERY_S - (time.monotonic() - back) + 1), "the worker did not recover"
    failures = [r.status_code for r in (_me(base, key) for _ in range(30)) if r.status_code != 200]
    assert failures == []
