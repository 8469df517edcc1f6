"""The operational surface: /metrics, the API schema and docs and /readyz's detail for staff and
authorised scrapers only; Flower behind a login on loopback; settings that refuse to serve the
development secret key or debug pages beyond this machine; logs without patient search terms."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.services import api_key_create
from practice import roles
from tests.conftest import free_port
from tests.factories import UserFactory
from tests.practice.factories import user_in_role

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN = "scraper-token-for-the-test"


@pytest.fixture
def closed(settings):  # type: ignore[no-untyped-def]
    """No address allowed; the operations token set."""
    settings.OPTIQ_OPERATIONS_ALLOW = []
    settings.OPTIQ_OPERATIONS_TOKEN = TOKEN
    return settings


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_metrics_are_refused_to_anonymous_clients_and_served_to_the_scraper_with_the_token(closed):
    refused = Client().get("/metrics")
    assert refused.status_code == 403
    assert "OPTIQ_OPERATIONS_TOKEN" in refused.content.decode()
    assert Client().get("/metrics", **_bearer("a-wrong-token")).status_code == 403
    served = Client().get("/metrics", **_bearer(TOKEN))
    assert served.status_code == 200 and b"# HELP" in served.content


@pytest.mark.django_db
def test_metrics_are_served_to_staff_and_to_allowed_addresses_only(closed, admin_as):
    assert admin_as(user_in_role(roles.RECEPTION)).get("/metrics").status_code == 200
    assert admin_as(UserFactory(is_staff=False)).get("/metrics").status_code == 403
    closed.OPTIQ_OPERATIONS_ALLOW = ["10.1.2.0/24"]
    assert Client(REMOTE_ADDR="10.1.2.9").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.1.3.9").get("/metrics").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_the_api_schema_and_docs_are_for_staff_and_authorised_scrapers(closed, admin_as, path):
    assert Client().get(path).status_code in (401, 403)
    _, user_key = api_key_create(user=UserFactory(is_staff=False))
    assert Client().get(path, **_bearer(user_key)).status_code == 403
    assert admin_as(user_in_role(roles.RECEPTION)).get(path).status_code == 200
    _, staff_key = api_key_create(user=user_in_role(roles.MANAGER))
    assert Client().get(path, **_bearer(staff_key)).status_code == 200
    assert Client().get(path, **_bearer(TOKEN)).status_code == 200


@pytest.mark.django_db
def test_the_operations_token_on_the_schema_is_not_counted_as_a_wrong_api_key(closed):
    closed.AXES_FAILURE_LIMIT = 2
    for _ in range(3):
        assert Client().get("/api/schema/", **_bearer(TOKEN)).status_code == 200


@pytest.mark.django_db
def test_readyz_gives_a_plain_status_to_others_and_the_detail_to_staff_and_scrapers(closed, admin_as):
    plain = Client().get("/readyz")
    assert set(plain.json()) == {"status"}
    assert plain.json()["status"] in ("ready", "not ready")
    for client, headers in ((Client(), _bearer(TOKEN)), (admin_as(user_in_role(roles.RECEPTION)), {})):
        detailed = client.get("/readyz", **headers).json()
        assert {check["name"] for check in detailed["checks"]} >= {"database", "pgvector", "broker"}
        assert detailed["status"] == plain.json()["status"]


def test_an_invalid_address_in_the_allow_list_stops_the_settings_with_the_variable_named():
    from django.core.exceptions import ImproperlyConfigured

    from optiq_site.settings.base import check_networks

    with pytest.raises(ImproperlyConfigured, match="OPTIQ_OPERATIONS_ALLOW: 'the-office' is not an IP"):
        check_networks("OPTIQ_OPERATIONS_ALLOW", ["10.0.0.0/8", "the-office"])


# --- Settings fail safe ---------------------------------------------------------------------


def _entry_point(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the ASGI application as uvicorn would, with no DJANGO_SETTINGS_MODULE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OPTIQ_HOST"))}
    env.update(DATABASE_URL=os.environ["TEST_DATABASE_URL"], REDIS_URL=os.environ["TEST_REDIS_URL"], **extra_env)
    code = "import optiq_site.asgi; from django.conf import settings; print('served', settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )


def test_an_entry_point_without_settings_refuses_the_development_key_beyond_localhost():
    refused = _entry_point({"DJANGO_ALLOWED_HOSTS": "optiq.practice.example"})
    assert refused.returncode != 0
    assert "Served beyond this machine (optiq.practice.example" in refused.stderr
    assert "the development secret key: set DJANGO_SECRET_KEY" in refused.stderr
    on_all_interfaces = _entry_point({"OPTIQ_HOST": "0.0.0.0"})
    assert on_all_interfaces.returncode != 0 and "0.0.0.0" in on_all_interfaces.stderr


def test_an_entry_point_without_settings_refuses_debug_pages_beyond_localhost():
    refused = _entry_point(
        {"DJANGO_ALLOWED_HOSTS": "optiq.practice.example", "DJANGO_SECRET_KEY": "k" * 50, "DJANGO_DEBUG": "1"}
    )
    assert refused.returncode != 0 and "DJANGO_DEBUG on" in refused.stderr


def test_an_entry_point_without_settings_still_serves_on_localhost_and_with_a_real_key_beyond_it():
    assert _entry_point({}).stdout.strip() == "served False"
    assert _entry_point({"DJANGO_DEBUG": "1"}).stdout.strip() == "served True"
    exposed = _entry_point({"DJANGO_ALLOWED_HOSTS": "optiq.practice.example", "DJANGO_SECRET_KEY": "k" * 50})
    assert exposed.stdout.strip() == "served False", exposed.stderr


# --- Flower ---------------------------------------------------------------------------------


def test_flower_is_on_loopback_behind_a_login_made_on_first_start_and_kept(tmp_path, monkeypatch):
    from optiq_site.runner import flower_process

    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    monkeypatch.delenv("OPTIQ_FLOWER_HOST", raising=False)
    port = free_port()
    celery = [sys.executable, "-m", "celery", "-A", "optiq_site"]
    command, env, where = flower_process(celery=celery, data_dir=tmp_path, port=port)
    assert where == str(tmp_path / "flower-credentials")
    assert stat.S_IMODE((tmp_path / "flower-credentials").stat().st_mode) == 0o600
    assert "--address=127.0.0.1" in command
    assert not any(env["FLOWER_BASIC_AUTH"] in part for part in command)  # not on the command line
    assert flower_process(celery=celery, data_dir=tmp_path, port=port)[1] == env  # kept, not remade

    user, password = env["FLOWER_BASIC_AUTH"].split(":", 1)
    process_env = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
    }
    log = open(tmp_path / "flower.log", "wb")
    flower = subprocess.Popen(command, env=process_env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                anonymous = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert flower.poll() is None and time.monotonic() < deadline, (tmp_path / "flower.log").read_text()
                time.sleep(0.5)
        assert anonymous.status_code == 401
        assert httpx.get(url, auth=(user, "wrong"), timeout=5).status_code == 401
        assert httpx.get(url, auth=(user, password), timeout=5).status_code == 200
    finally:
        flower.terminate()
        flower.wait(timeout=20)
        log.close()


def test_the_compose_file_publishes_flower_on_loopback_only_and_requires_its_login():
    compose = (BASE_DIR / "docker" / "compose.yaml").read_text()
    flower = compose[compose.index("\n  flower:") :]
    assert 'ports: ["127.0.0.1:5555:5555"]' in flower
    assert "FLOWER_BASIC_AUTH: ${FLOWER_BASIC_AUTH:?" in flower


# --- Logs -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_log_line_carries_the_query_string_of_a_patient_search(reception, caplog, closed):
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.force_login(reception)
    client.get("/api/v1/patients/", {"search": "Pemberton-07700900461"})
    client.get("/api/v1/patients/no-such/", {"search": "Pemberton-07700900461"})  # 404
    client.get("/api/v1/sales/", {"search": "Pemberton-07700900461", "page": "999"})  # 404 past the end
    Client().get("/api/v1/patients/", {"search": "Pemberton-07700900461"})  # 401/403
    Client().get("/metrics", {"q": "Pemberton-07700900461"})  # 403
    assert caplog.records, "the requests above log their 4xx"
    assert not [r.getMessage() for r in caplog.records if "Pemberton" in r.getMessage()]


def test_every_server_runs_without_uvicorns_access_log():
    runner = (BASE_DIR / "optiq_site" / "runner.py").read_text()
    dockerfile = (BASE_DIR / "docker" / "Dockerfile").read_text()
    assert '"--no-access-log"' in runner
    assert "uvicorn optiq_site.asgi:application" in dockerfile and "--no-access-log" in dockerfile


@pytest.mark.django_db
def test_the_demo_password_is_printed_on_first_start_only(settings, tmp_path, capsys):
    from django.core.management import call_command

    settings.DATA_DIR = tmp_path
    settings.OPTIQ_BOOTSTRAP_COMMANDS = []
    call_command("bootstrap_local")
    first = capsys.readouterr().out
    call_command("bootstrap_local")
    second = capsys.readouterr().out
    password = json.loads((tmp_path / "demo-credentials.json").read_text())["password"]
    assert password in first
    assert password not in second and str(tmp_path / "demo-credentials.json") in second
