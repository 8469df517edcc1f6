"""Concurrent clients on the read endpoints through the real server (uvicorn, pooled database
connections): no server error, the connections stay within the pool, and after the burst they
fall back to the pool's idle size. The figures for 64 clients are `benchmarks/load.py`'s."""

from __future__ import annotations

import asyncio
import time
import uuid

from django.db import connection

from benchmarks.load import READ_PATHS, ConnectionWatch, drive
from tests.reliability.fixtures import database_connections

CLIENTS = 16
POOL_MAX = 6


def _server_connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return int(cursor.fetchone()[0])


def test_16_clients_on_the_read_mix_get_no_server_error_and_the_connections_return_to_the_baseline(
    live_api, small_practice
):
    from assistant.knowledge.services import knowledge_document_ingest

    knowledge_document_ingest(
        content="---\ntitle: Progressive lenses\ncategory: lens-types\n---\n# Progressive lenses\n\n"
        "A progressive lens changes power gradually from distance at the top to near at the bottom.",
        slug="progressive-lenses",
        embed="now",
    )
    name = f"optiq-load-{uuid.uuid4().hex[:8]}"
    base = live_api(
        extra_env={
            "PGAPPNAME": name,  # libpq names the server's connections after it
            "OPTIQ_DB_POOL_MIN": "1",
            "OPTIQ_DB_POOL_MAX": str(POOL_MAX),
            "OPTIQ_DB_POOL_MAX_IDLE": "1",
            "OPTIQ_THROTTLE_USER": "off",
            "OPTIQ_THROTTLE_API_KEY": "off",
            "OPTIQ_THROTTLE_ANONYMOUS": "off",
        }
    )
    headers = small_practice.headers("manager")
    asyncio.run(drive(base, headers=headers, seconds=1, readers=2))  # warm-up: the embedding model, plans
    total_before = database_connections()

    with ConnectionWatch(connection_url()) as watch:
        groups = asyncio.run(drive(base, headers=headers, seconds=6, readers=CLIENTS))
    reads = groups["reads"]
    assert reads.requests >= 2 * len(READ_PATHS), reads.summary()  # every endpoint of the mix was asked
    assert reads.server_errors == 0 and not reads.errors, reads.summary()
    assert set(reads.statuses) == {200}, reads.summary()
    assert watch.peak - total_before <= POOL_MAX, (watch.peak, total_before)

    deadline = time.monotonic() + 30
    while (open_now := _server_connections(name)) > 1:
        assert time.monotonic() < deadline, f"{open_now} server connections still open 30 s after the burst"
        time.sleep(0.5)
    assert database_connections() <= total_before


def connection_url() -> str:
    """A libpq URL for the test database (ConnectionWatch connects with it)."""
    from psycopg.conninfo import make_conninfo

    s = connection.settings_dict
    parts = {"host": s["HOST"] or None, "port": s["PORT"] or None, "user": s["USER"] or None, "dbname": s["NAME"]}
    if s["PASSWORD"]:
        parts["password"] = s["PASSWORD"]
    return make_conninfo(**{k: v for k, v in parts.items() if v})
