"""The inference tests start from a broker with no worker heartbeats left by earlier tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_stale_workers() -> Iterator[None]:
    """Heartbeats of workers stopped by an earlier test must not count as live workers."""
    from assistant.llm import streams

    conn = streams.connection()
    conn.delete(streams.WORKERS_KEY, streams.LOADED_KEY, streams.BUSY_KEY)
    yield
