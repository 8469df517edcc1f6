"""The wire between the web process and the inference workers, over Redis.

Each request has a pub/sub channel. The web side subscribes before it enqueues the task;
the worker publishes ``started``, then ``token`` messages, then ``done`` (or ``error``).
PUBLISH returns how many subscribers received a message, so a worker that sees 0 knows the
client has gone (disconnected, or gave up waiting in the queue) and stops generating.

Live workers keep their ``host:pid -> last heartbeat`` in a sorted set, beaten every second by
a thread of their own, so the web side can tell at once whether any inference worker exists
(503 instead of a long wait) and, while it waits for the next token, whether the worker
serving it is still alive (a killed worker misses its beats). The version each one has loaded
is in a hash that /metrics reports.

Every Redis socket gives up after OPTIQ_BROKER_TIMEOUT_S: a broker that hangs turns into an
error in seconds instead of a request that hangs.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aredis
from django.conf import settings

CHANNEL_PREFIX = "optiq:inference:req:"
WORKERS_KEY = "optiq:inference:workers"
LOADED_KEY = "optiq:inference:loaded"
BUSY_KEY = "optiq:inference:busy"
HEARTBEAT_SECONDS = 1.0
# A worker not heard from for this long counts as gone for new requests.
WORKER_STALE_SECONDS = 10.0
# A worker serving a request that missed this many seconds of beats is taken for dead: three
# missed beats, so a killed worker is noticed within about 3.5 s (the web side looks every 0.5 s).
WORKER_LOST_SECONDS = 3.0


def channel(request_id: str) -> str:
    return CHANNEL_PREFIX + request_id


def broker_timeout() -> float:
    return float(getattr(settings, "OPTIQ_BROKER_TIMEOUT_S", 2.0))


@lru_cache(maxsize=4)
def _pool(url: str, timeout: float) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(
        url,
        socket_keepalive=True,
        health_check_interval=30,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


def connection() -> redis.Redis:
    """A synchronous client (workers, metrics, tests) from a per-process pool."""
    return redis.Redis(connection_pool=_pool(settings.REDIS_URL, broker_timeout()))


def async_connection() -> aredis.Redis:
    """An asyncio client for one request of the web side; close it with ``aclose()``."""
    timeout = broker_timeout()
    return aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


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


async def alive_worker_count(conn: aredis.Redis) -> int:
    """How many inference workers beat within WORKER_STALE_SECONDS."""
    return int(await conn.zcount(WORKERS_KEY, time.time() - WORKER_STALE_SECONDS, "+inf"))


async def seconds_since_beat(conn: aredis.Redis, worker_id: str) -> float | None:
    """Seconds since `worker_id` last beat, or None when it deregistered (or never beat)."""
    beat = await conn.zscore(WORKERS_KEY, worker_id)
    return None if beat is None else time.time() - float(beat)
