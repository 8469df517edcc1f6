"""/readyz answers within 2 s whatever is down, naming what is down, on the real server."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from optiq_site import embedded


@pytest.fixture
def private_broker(tmp_path):
    """A Valkey of this test's own: the session's broker is shared by the whole run."""
    data_dir = tmp_path / "valkey"
    url = embedded.valkey_start(data_dir, persist=False)
    pid = int((data_dir / "valkey.pid").read_text())
    yield url, pid
    os.kill(pid, signal.SIGCONT)
    embedded.valkey_stop(data_dir)


def _readyz(base: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(f"{base}/readyz", timeout=2.0)  # no answer within 2 s fails the test
    return response, time.monotonic() - started


def test_readyz_names_a_paused_broker_within_2_s_and_recovers_when_it_resumes(live_api, private_broker, api_key):
    url, pid = private_broker
    base = live_api(extra_env={"TEST_REDIS_URL": url})
    before, _ = _readyz(base)
    checks = {c["name"]: c for c in before.json()["checks"]}
    assert checks["broker"]["ok"], checks["broker"]

    os.kill(pid, signal.SIGSTOP)
    try:
        response, elapsed = _readyz(base)
        assert response.status_code == 503
        checks = {c["name"]: c for c in response.json()["checks"]}
        assert not checks["broker"]["ok"]
        assert "broker" in checks["broker"]["detail"]
        assert checks["database"]["ok"], "the database is up and must be reported so"
        assert elapsed < 2.0
        # What does not need the broker keeps working.
        me = httpx.get(f"{base}/api/v1/me/", headers={"Authorization": f"Bearer {api_key}"}, timeout=5)
        assert me.status_code == 200
    finally:
        os.kill(pid, signal.SIGCONT)

    deadline = time.monotonic() + 10
    while True:
        response, _ = _readyz(base)
        checks = {c["name"]: c for c in response.json()["checks"]}
        if checks["broker"]["ok"]:
            break
        assert time.monotonic() < deadline, checks["broker"]
        time.sleep(0.2)
