"""A streamed answer holds no database connection while it waits on the model: with a pool of
one connection, the practice's pages are answered while a long /v1 stream is being written.
Through the real server (uvicorn) and a real inference worker."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.factories import UserFactory


@pytest.fixture
def manager_key(transactional_db) -> str:  # type: ignore[no-untyped-def]
    from accounts.services import api_key_create

    _, raw = api_key_create(user=UserFactory())
    return raw


def test_the_practice_pages_are_answered_from_a_one_connection_pool_while_a_stream_is_written(
    live_api, inference_worker, default_version, manager_key
):
    inference_worker()
    base = live_api(
        extra_env={
            "OPTIQ_DB_POOL_MIN": "1",
            "OPTIQ_DB_POOL_MAX": "1",
            # A request that cannot get the connection within this fails (503): long enough for a
            # query to finish, far shorter than the stream.
            "OPTIQ_DB_POOL_TIMEOUT": "1.5",
        }
    )
    headers = {"Authorization": f"Bearer {manager_key}"}
    first_chunk, finished = threading.Event(), threading.Event()
    chunks: list[str] = []

    def stream() -> None:
        body = {"model": "active", "prompt": "A history of spectacle lenses, chapter one.", "max_tokens": 400}
        body |= {"stream": True, "temperature": 0.8, "seed": 7}
        with httpx.stream("POST", f"{base}/v1/completions", json=body, headers=headers, timeout=120) as response:
            assert response.status_code == 200, response.read()
            for line in response.iter_lines():
                if line.startswith("data: {") and (choices := json.loads(line[6:])["choices"]):
                    chunks.append(choices[0]["text"])
                    first_chunk.set()
        finished.set()

    writer = threading.Thread(target=stream, daemon=True)
    writer.start()
    assert first_chunk.wait(120), "the stream never started"
    statuses, answered_while_streaming = [], 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(3):
            started = time.monotonic()
            statuses.append(client.get("/api/v1/me/").status_code)
            answered_while_streaming += not finished.is_set()
            assert time.monotonic() - started < 1.5, "the page waited for the stream's connection"
    writer.join(120)
    assert statuses == [200, 200, 200]
    # The pages were answered while the model was still writing, not after it had finished.
    assert answered_while_streaming >= 1 and len(chunks) > 5, (answered_while_streaming, len(chunks))
