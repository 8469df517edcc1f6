"""The wire between the web process and the inference workers, over Redis.

Each request has a pub/sub channel. The web side subscribes before it enqueues the task;
the worker publishes ``started``, then ``token`` messages, then ``done`` (or ``error``).
PUBLISH returns how many subscribers received a message, so a worker that sees 0 knows the
client has gone (disconnected, or gave up waiting in the queue) and stops generating.

Live workers keep their ``process id -> last heartbeat`` in a sorted set, so the web side can
tell at once whether any inference worker exists (503 instead of a long wait), and the
version each one has loaded in a hash that /metrics reports.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

CHANNEL_PREFIX = "optiq:inference:req:"
WORKERS_KEY = "optiq:inference:workers"
LOADED_KEY = "optiq:inference:loaded"
BUSY_KEY = "optiq:inference:busy"
HEARTBEAT_SECONDS = 2.0
# A worker not heard from for this long counts as gone.
WORKER_STALE_SECONDS = 10.0


def channel(request_id: str) -> str:
    return CHANNEL_PREFIX + request_id


@lru_cache(maxsize=4)
def _pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, socket_keepalive=True, health_check_interval=30)


def connection() -> redis.Redis:
    return redis.Redis(connection_pool=_pool(settings.REDIS_URL))


def encode(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def decode(raw: bytes | str) -> dict[str, Any]:
    return json.loads(raw)


def worker_heartbeat(conn: redis.Redis, worker_id: str) -> None:
    conn.zadd(WORKERS_KEY, {worker_id: time.time()})


def worker_gone(conn: redis.Redis, worker_id: str) -> None:
    pipe = conn.pipeline()
    pipe.zrem(WORKERS_KEY, worker_id)
    pipe.hdel(LOADED_KEY, worker_id)
    pipe.hdel(BUSY_KEY, worker_id)
    pipe.execute()


def live_workers(conn: redis.Redis) -> list[str]:
    cutoff = time.time() - WORKER_STALE_SECONDS
    conn.zremrangebyscore(WORKERS_KEY, "-inf", cutoff)
    members: list[bytes] = conn.zrange(WORKERS_KEY, 0, -1)  # type: ignore[assignment]
    return [member.decode() for member in members]
