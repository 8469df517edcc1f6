"""A broker that hangs (SIGSTOP on the test's own Valkey) takes nothing from the practice:
the practice API (reads, a patient's record, reports, a write) and the admin pages answer as
before, while what needs the broker is a 503 with Retry-After within 2 s and /readyz names the
broker within 2 s; after SIGCONT generation works again by itself.

(tests/assistant/inference/test_broker_faults.py covers the assistant's own paths under the same
fault, tests/optiq_site/test_readiness_under_faults.py the readiness checks in detail.)"""

from __future__ import annotations

import json
import re
import time

import httpx

PRACTICE_READS = [
    "/api/v1/patients/?search=a",
    "/api/v1/products/low-stock/",
    "/api/v1/reports/sales-summary/?start=2025-12-01&end=2026-11-30",
    "/api/v1/sales/",
    "/api/v1/me/",
]


def _timed(call):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _admin_session(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10, follow_redirects=True)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    logged_in = client.post(
        "/admin/login/?next=/admin/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/admin/login/"},
    )
    assert logged_in.status_code == 200 and "/admin/login/" not in str(logged_in.url), logged_in.text[:500]
    return client


def test_a_hung_broker_leaves_the_practice_api_and_admin_working_and_generation_503s_within_2_s(
    private_broker, inference_worker_on, live_api, small_practice, default_version, default_gguf, tmp_path
):
    from assistant.registry.services import model_version_register

    model_version_register(
        name="gemma-derived", path=default_gguf, chat_format="gemma", base=default_version, activate=True
    )
    inference_worker_on(private_broker)
    base = live_api(extra_env=private_broker.env())
    headers = small_practice.headers("manager")
    password = json.loads((tmp_path / "demo-staff.json").read_text())["password"]
    admin = _admin_session(base, "manager", password)
    patient_id = httpx.get(f"{base}/api/v1/patients/", headers=headers, timeout=10).json()["results"][0]["id"]

    def generate() -> httpx.Response:
        body = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2}
        return httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=30)

    assert generate().status_code == 200

    private_broker.pause()
    try:
        response, took = _timed(generate)
        assert response.status_code == 503 and took < 2.0, (response.status_code, took, response.text)
        assert int(response.headers["Retry-After"]) >= 1

        ready, took = _timed(lambda: httpx.get(f"{base}/readyz", timeout=2.0))
        failing = [c["name"] for c in ready.json()["checks"] if not c["ok"]]
        assert ready.status_code == 503 and took < 2.0 and failing == ["broker"], (ready.json(), took)

        for path in [*PRACTICE_READS, f"/api/v1/patients/{patient_id}/"]:
            answer = httpx.get(f"{base}{path}", headers=headers, timeout=10)
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        created = httpx.post(
            f"{base}/api/v1/patients/",
            json={"first_name": "Iona", "last_name": "Campbell", "date_of_birth": "1984-03-02"},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        for page in ["/admin/", "/admin/practice/patient/", f"/admin/practice/patient/{patient_id}/change/"]:
            answer = admin.get(page)
            assert answer.status_code == 200 and "/admin/login/" not in str(answer.url), (page, answer.status_code)
    finally:
        private_broker.resume()
        admin.close()

    deadline = time.monotonic() + 30
    while (response := generate()).status_code != 200:
        assert time.monotonic() < deadline, f"generation did not recover: {response.status_code} {response.text}"
        time.sleep(0.5)
    ready = httpx.get(f"{base}/readyz", timeout=2.0)
    assert {c["name"]: c["ok"] for c in ready.json()["checks"]}["broker"], ready.json()
