"""Database work from async code, with the connection handed back to the pool when it returns.

Under ASGI each request's synchronous code runs in a thread of its own, and Django returns that
thread's connection to the pool only when the request finishes. A streamed answer (a question
in a thread, a /v1 stream) spends seconds waiting on the model after its last query; holding a
pooled connection all that time, sixteen slow answers would take the whole pool and leave the
practice's pages waiting for a connection. Each call through `database_sync_to_async` gives
its connection back as soon as it returns (outside a transaction), so a connection is held
only while a query runs.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")


def _release_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def database_sync_to_async(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`sync_to_async` (thread-sensitive) for a function that uses the ORM."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            _release_connections()

    return sync_to_async(call)
