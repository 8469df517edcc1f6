"""Rate limits per user and per API key (429 + Retry-After, OpenAI's shape on /v1), and the
lockout of a login after repeated wrong passwords, and of an address after repeated wrong keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.services import api_key_create
from practice import roles
from tests.practice.factories import user_in_role

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-7"


@pytest.fixture
def limits(settings):  # type: ignore[no-untyped-def]
    settings.AXES_FAILURE_LIMIT = 3

    def set_rates(**rates: str | None) -> None:
        settings.OPTIQ_THROTTLE_RATES = {"user": None, "api_key": None, "anonymous": None, **rates}

    return set_rates


def _staff(username: str) -> Any:
    user = user_in_role(roles.RECEPTION, username=username)
    user.set_password(PASSWORD)
    user.save()
    return user


def _admin_login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def _bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _chat(key: str) -> Any:
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "no-such-model"})
    return Client().post("/v1/chat/completions", data=body, content_type="application/json", **_bearer(key))


def test_repeated_wrong_passwords_lock_that_login_out_with_a_clear_message(limits):
    _staff("frontdesk")
    client = Client()
    for _ in range(2):
        assert _admin_login(client, "frontdesk", "wrong").status_code == 200  # the form's error
    assert _admin_login(client, "frontdesk", "wrong").status_code == 429  # the third locks it
    locked = _admin_login(client, "frontdesk", PASSWORD)  # even the right password, for a while
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Locked out for 15 minutes after 3 wrong passwords for this login" in text
    assert int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_a_locked_login_does_not_lock_the_other_staff_at_the_same_address(limits):
    _staff("frontdesk")
    _staff("optometrist")
    client = Client()
    for _ in range(4):
        _admin_login(client, "frontdesk", "wrong")
    assert _admin_login(client, "optometrist", PASSWORD).status_code == 302


def test_a_right_password_before_the_limit_resets_the_count(limits):
    _staff("frontdesk")
    for _ in range(2):
        _admin_login(Client(), "frontdesk", "wrong")
    assert _admin_login(Client(), "frontdesk", PASSWORD).status_code == 302
    for _ in range(2):
        _admin_login(Client(), "frontdesk", "wrong")
    assert _admin_login(Client(), "frontdesk", PASSWORD).status_code == 302


def test_repeated_wrong_api_keys_lock_the_address_out_on_the_api_and_v1(limits):
    user = _staff("frontdesk")
    _, good = api_key_create(user=user)
    assert Client().get("/api/v1/patients/", **_bearer(good)).status_code == 200
    for attempt in range(2):
        assert Client().get("/api/v1/patients/", **_bearer(f"oq_wrong-{attempt}")).status_code == 401
    third = Client().get("/api/v1/patients/", **_bearer("oq_wrong-2"))
    assert third.status_code == 429  # the limit: from now on every key from this address waits
    assert "wrong API keys" in third.json()["detail"]
    api = Client().get("/api/v1/patients/", **_bearer(good))
    assert api.status_code == 429
    assert "Locked out for 15 minutes after 3 wrong API keys from this address" in api.json()["detail"]
    assert int(api["Retry-After"]) == 15 * 60
    v1 = _chat(good)
    assert v1.status_code == 429
    assert v1.json()["error"]["code"] == "too_many_invalid_keys"
    assert v1.json()["error"]["type"] == "requests"
    assert v1["Retry-After"] == str(15 * 60)


def test_wrong_api_keys_do_not_count_against_staff_logins(limits):
    _staff("frontdesk")
    for attempt in range(5):
        Client().get("/api/v1/patients/", **_bearer(f"oq_wrong-{attempt}"))
    assert _admin_login(Client(), "frontdesk", PASSWORD).status_code == 302


def test_an_api_key_over_its_rate_gets_429_with_retry_after(limits):
    limits(api_key="3/min")
    user = _staff("frontdesk")
    _, first = api_key_create(user=user)
    _, other_users = api_key_create(user=_staff("optometrist"))
    for _ in range(3):
        assert Client().get("/api/v1/patients/", **_bearer(first)).status_code == 200
    refused = Client().get("/api/v1/patients/", **_bearer(first))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Client().get("/api/v1/patients/", **_bearer(other_users)).status_code == 200


def test_a_users_rate_counts_every_key_and_their_session(limits):
    limits(user="4/min")
    user = _staff("frontdesk")
    _, first = api_key_create(user=user, name="one")
    _, second = api_key_create(user=user, name="two")
    session = Client()
    session.force_login(user)
    assert Client().get("/api/v1/patients/", **_bearer(first)).status_code == 200
    assert Client().get("/api/v1/patients/", **_bearer(second)).status_code == 200
    assert session.get("/api/v1/patients/").status_code == 200
    assert _chat(first).status_code == 404  # /v1 counts too (no such model, but a request)
    assert session.get("/api/v1/patients/").status_code == 429
    assert Client().get("/api/v1/patients/", **_bearer(second)).status_code == 429


def test_v1_over_the_rate_answers_in_openais_shape_with_retry_after(limits):
    limits(api_key="2/min")
    _, key = api_key_create(user=_staff("frontdesk"))
    for _ in range(2):
        assert Client().get("/v1/models", **_bearer(key)).status_code == 200
    refused = _chat(key)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert "retry in" in error["message"]
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_the_default_rates_come_from_the_environment(monkeypatch):
    import importlib

    from optiq_site.settings import base

    monkeypatch.setenv("OPTIQ_THROTTLE_API_KEY", "5000/min")
    monkeypatch.setenv("OPTIQ_THROTTLE_USER", "off")
    reloaded = importlib.reload(base)
    try:
        assert reloaded.OPTIQ_THROTTLE_RATES["api_key"] == "5000/min"
        assert not reloaded.OPTIQ_THROTTLE_RATES["user"]
    finally:
        monkeypatch.undo()
        importlib.reload(base)


def test_under_the_real_server_wrong_passwords_lock_the_admin_login_with_its_page(live_api):
    import re

    import httpx

    _staff("frontdesk")
    base = live_api({"OPTIQ_LOGIN_FAILURE_LIMIT": "3"})
    with httpx.Client(base_url=base, timeout=30) as browser:

        def attempt(password: str) -> httpx.Response:
            page = browser.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert token, page.text[:500]
            form = {"csrfmiddlewaretoken": token.group(1), "username": "frontdesk", "password": password}
            return browser.post("/admin/login/?next=/admin/", data=form, headers={"Referer": f"{base}/admin/login/"})

        assert attempt("wrong").status_code == 200
        assert attempt("wrong").status_code == 200
        locked = attempt("wrong")
        assert locked.status_code == 429
        assert "Locked out for 15 minutes after 3 wrong passwords for this login" in locked.text
        assert "<html" in locked.text.lower()  # the admin's page, not a bare message
        assert attempt(PASSWORD).status_code == 429
