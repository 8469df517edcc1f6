"""The model registry: registration checks, one active version, activation and rollback, the API."""

from __future__ import annotations

import shutil

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assistant.llm.default_model import DEFAULT_MODEL_NAME, expected_sha256
from assistant.models import ModelVersion
from assistant.registry.selectors import active_model, model_by_name
from assistant.registry.services import (
    default_model_register,
    model_version_register,
    model_version_rollback,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_default_model_is_registered_once_checksummed_and_activated(default_gguf):
    version, created = default_model_register()
    again, created_again = default_model_register()
    assert created and not created_again and again.pk == version.pk
    assert version.name == DEFAULT_MODEL_NAME and version.sha256 == expected_sha256()
    assert version.size_bytes == default_gguf.stat().st_size
    assert not version.has_chat_template and version.chat_format == "gemma"
    assert active_model() == version


def test_registration_names_the_field_and_rule_and_writes_nothing(default_gguf, tmp_path):
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    cases = [
        ({"name": "x", "path": tmp_path / "missing.gguf", "chat_format": "gemma"}, "path", "no file"),
        ({"name": "x", "path": not_gguf, "chat_format": "gemma"}, "path", "not a GGUF"),
        ({"name": "x", "path": default_gguf}, "chat_format", "no chat template"),
        ({"name": "x", "path": default_gguf, "chat_format": "vicuna"}, "chat_format", "unknown format"),
        ({"name": "bad name", "path": default_gguf, "chat_format": "gemma"}, "name", "letters, digits"),
        ({"name": "optiq", "path": default_gguf, "chat_format": "gemma"}, "name", "reserved"),
        ({"name": "x", "path": default_gguf, "chat_format": "gemma", "lora_path": not_gguf}, "lora_path", "not a GGUF"),
        ({"name": "x", "path": None, "backend": "external"}, "base_url", "base URL"),
        ({"name": "x", "path": default_gguf, "chat_format": "gemma", "n_ctx": 8}, "n_ctx", "between"),
    ]
    for kwargs, field, rule in cases:
        with pytest.raises(ValidationError) as caught:
            model_version_register(**kwargs)
        assert field in caught.value.message_dict, kwargs
        assert rule in " ".join(caught.value.message_dict[field])
    assert not ModelVersion.objects.exists()


def test_a_duplicate_name_is_refused(default_version, default_gguf):
    with pytest.raises(ValidationError, match="already exists"):
        model_version_register(name=default_version.name, path=default_gguf, chat_format="gemma")


def test_the_database_allows_only_one_active_chat_model(default_version, default_gguf):
    other = model_version_register(name="other", path=default_gguf, chat_format="gemma")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=other.pk).update(status="active")


def test_rollback_walks_back_through_activations_like_a_stack(default_version, default_gguf):
    second = model_version_register(name="second", path=default_gguf, chat_format="gemma", activate=True)
    third = model_version_register(name="third", path=default_gguf, chat_format="gemma", activate=True)
    assert active_model() == third
    assert model_version_rollback() == second
    assert model_version_rollback() == default_version
    assert model_by_name("third").status == "ready"
    with pytest.raises(ValidationError, match="no earlier chat model"):
        model_version_rollback()


def test_registry_api_lists_for_staff_and_changes_only_with_the_permission(
    bearer_client, default_version, default_gguf
):
    reader = bearer_client()
    listed = reader.get("/api/v1/models/")
    assert listed.status_code == 200 and listed.json()["results"][0]["name"] == default_version.name
    body = {"name": "tuned", "path": str(default_gguf), "chat_format": "gemma", "base": default_version.name}
    assert reader.post("/api/v1/models/", body, format="json").status_code == 403

    manager = UserFactory()
    manager.user_permissions.add(Permission.objects.get(codename="manage_model_versions"))
    client = bearer_client(manager)
    bad = client.post("/api/v1/models/", {**body, "path": "/nowhere.gguf"}, format="json")
    assert bad.status_code == 400 and "path" in bad.json()
    created = client.post("/api/v1/models/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["base"] == default_version.name and created.json()["sha256"] == expected_sha256()
    activated = client.post(f"/api/v1/models/{created.json()['id']}/activate/")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    rolled = client.post("/api/v1/models/rollback/", {"role": "chat"}, format="json")
    assert rolled.status_code == 200 and rolled.json()["name"] == default_version.name


def test_register_model_command_reads_the_gguf_and_reports_errors_by_field(default_gguf, tmp_path, capsys):
    from django.core.management import CommandError, call_command

    copy = tmp_path / "copy.gguf"
    shutil.copyfile(default_gguf, copy)
    call_command("register_model", str(copy), "--chat-format", "gemma", "--activate")
    assert active_model().name == "copy"
    with pytest.raises(CommandError, match=r"chat_format: .*no chat template"):
        call_command("register_model", str(copy), "--name", "copy2")


def test_the_admin_add_form_shows_service_errors_on_their_fields_and_registers_once(default_version, default_gguf):
    from django.test import Client

    manager = UserFactory(is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["manage_model_versions", "view_modelversion", "add_modelversion"])
    )
    client = Client()
    client.force_login(manager)
    form = {"name": "tuned", "role": "chat", "backend": "local", "lora_scale": "1.0", "n_ctx": "2048"}
    form.update({"n_gpu_layers": "0", "chat_format": "gemma", "base": default_version.pk})

    missing = default_gguf.parent / "nowhere.gguf"  # inside the models directory, as the admin requires
    refused = client.post("/admin/assistant/modelversion/add/", {**form, "path": str(missing)})
    assert refused.status_code == 200
    assert "no file" in " ".join(refused.context["adminform"].form.errors["path"])
    assert not ModelVersion.objects.filter(name="tuned").exists()

    added = client.post("/admin/assistant/modelversion/add/", {**form, "path": str(default_gguf)})
    assert added.status_code == 302
    created = ModelVersion.objects.get(name="tuned")
    assert created.sha256 == expected_sha256() and created.created_by == manager and created.base == default_version
