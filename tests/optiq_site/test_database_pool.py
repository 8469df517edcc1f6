"""Pooled database connections: bounded under a burst and back to the baseline after it, and a
forked worker process never shares its parent's pool."""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from django.db import connection


def _connections_named(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return cursor.fetchone()[0]


def test_a_burst_stays_within_the_pool_and_connections_return_to_the_baseline(live_api, api_key):
    name = f"optiq-burst-{uuid.uuid4().hex[:8]}"
    base = live_api(
        extra_env={
            "PGAPPNAME": name,  # libpq names the server's connections after it
            "OPTIQ_DB_POOL_MIN": "1",
            "OPTIQ_DB_POOL_MAX": "4",
            "OPTIQ_DB_POOL_MAX_IDLE": "1",
        }
    )
    headers = {"Authorization": f"Bearer {api_key}"}
    assert httpx.get(f"{base}/api/v1/me/", headers=headers, timeout=10).status_code == 200

    peak = 0
    bursting = threading.Event()

    def watch() -> None:
        nonlocal peak
        try:
            while not bursting.is_set():
                peak = max(peak, _connections_named(name))
                time.sleep(0.05)
        finally:
            connection.close()  # this thread's own connection

    def request(_: int) -> int:
        return httpx.get(f"{base}/api/v1/me/", headers=headers, timeout=30).status_code

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(request, range(240)))
    finally:
        bursting.set()
        watcher.join()
    assert set(statuses) == {200}
    assert 1 < peak <= 4, peak

    deadline = time.monotonic() + 30
    while _connections_named(name) > 1:
        assert time.monotonic() < deadline, f"{_connections_named(name)} connections still open after the burst"
        time.sleep(0.5)


@pytest.mark.django_db(transaction=True)
def test_a_forked_worker_process_opens_its_own_pool_and_leaves_the_parents_connections_alone():
    """What a prefork Celery child goes through: forked from a parent whose pool holds open
    connections, then worker_process_init (OptiQ's handler, then Celery's Django fixup)."""
    from celery.fixups.django import DjangoWorkerFixup
    from celery.signals import worker_process_init

    from optiq_site.celery import app

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pool = connection.pool
    assert pool is not None, "the connection must come from a pool"
    spare = pool.getconn(timeout=10)  # a second connection, left idle in the pool
    pool.putconn(spare)
    idle = list(pool._pool)
    parents = {connection.connection.info.backend_pid, *(conn.info.backend_pid for conn in idle)}
    assert len(parents) >= 2

    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its backend pid, never return into pytest
        code = 1
        try:
            os.close(read_end)
            worker_process_init.send(sender=None)
            fixup = DjangoWorkerFixup(app)
            fixup.worker = SimpleNamespace(pool_cls="celery.concurrency.prefork:TaskPool")
            fixup.on_worker_process_init()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                os.write(write_end, str(cursor.fetchone()[0]).encode())
            connection.close()
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child_backend = int(pipe.read() or 0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_backend and child_backend not in parents

    # Every session of the parent survived the child: the one in use and the idle ones.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] in parents
    for conn in idle:
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == conn.info.backend_pid
