"""Static files under the server `make run` uses (uvicorn, ASGI): served by an async-capable
static file server, so Django never has to consume a synchronous file iterator whole."""

from __future__ import annotations

import httpx


def test_static_files_are_served_under_asgi_without_a_synchronous_iterator(live_api, tmp_path):
    base = live_api()
    for path in ("/static/assistant/ask.js", "/static/optiq/charts.js", "/static/admin/css/base.css"):
        response = httpx.get(f"{base}{path}", timeout=10)
        assert response.status_code == 200 and len(response.content) > 1000, (path, response.status_code)
    # A browser's revalidation of what it holds: no body, and no synchronous iterator either.
    again = httpx.get(f"{base}/static/admin/css/base.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    log = (tmp_path / "uvicorn-0.log").read_text()
    assert "must consume synchronous iterators" not in log, log[-2000:]
