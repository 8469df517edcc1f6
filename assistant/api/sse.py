"""Server-sent events, for the threads API (named events: sources, token, done, error) and for
/v1 (OpenAI's unnamed ``data:`` chunks ending with ``data: [DONE]``).

The response streams from an async iterator: under ASGI each event reaches the client as it is
yielded (a synchronous iterator would be read whole before the first byte), and a client that
disconnects cancels the iterator, which stops the generation behind it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

CONTENT_TYPE = "text/event-stream"


def sse_event(data: Any, *, event: str | None = None) -> bytes:
    """One event: ``event: NAME`` when named, then ``data:`` with `data` as compact JSON (a
    string is sent as it is, for OpenAI's ``[DONE]``)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), cls=DjangoJSONEncoder)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def event_stream_response(events: AsyncIterator[bytes], *, status: int = 200) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type=CONTENT_TYPE, status=status)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # let events through reverse proxies as they come
    return response
