"""/v1 model access: the active version for every key, any other version only for those who manage
model versions; a version someone may not use is answered exactly like one that does not exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.services import api_key_create
from assistant.registry.services import model_version_register
from practice import roles
from tests.factories import UserFactory
from tests.practice.factories import user_in_role

pytestmark = pytest.mark.django_db

PROMPT = [{"role": "user", "content": "What are progressive lenses?"}]


def _key(user: Any) -> str:
    return api_key_create(user=user)[1]


def _get_models(key: str) -> list[str]:
    response = Client().get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    return [m["id"] for m in response.json()["data"]]


def _chat(key: str, model: str) -> Any:
    return Client().post(
        "/v1/chat/completions",
        data=json.dumps({"model": model, "messages": PROMPT}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )


@pytest.fixture
def candidate(default_version):  # type: ignore[no-untyped-def]
    """A fine-tuned version registered but never activated."""
    return model_version_register(name="gemma-ft-candidate", path=default_version.path, base=default_version)


def test_a_key_without_a_role_lists_only_the_active_version_and_the_aliases(default_version, candidate):
    listed = _get_models(_key(UserFactory()))
    assert default_version.name in listed and "optiq" in listed
    assert candidate.name not in listed


@pytest.mark.parametrize("role", [roles.RECEPTION, roles.CLINICIAN, roles.MANAGER])
def test_practice_roles_cannot_list_or_use_a_version_that_was_never_activated(role, default_version, candidate):
    key = _key(user_in_role(role))
    assert candidate.name not in _get_models(key)
    refused = _chat(key, candidate.name)
    missing = _chat(key, "no-such-model")
    assert refused.status_code == missing.status_code == 404
    # Nothing tells a version that exists from one that does not.
    assert refused.json()["error"] == {
        **missing.json()["error"],
        "message": missing.json()["error"]["message"].replace("no-such-model", candidate.name),
    }


def test_an_ml_admin_lists_and_may_try_a_version_before_activating_it(default_version, candidate):
    from assistant.openai_api.model_access import check_model_access

    admin = user_in_role(roles.ML_ADMIN)
    assert candidate.name in _get_models(_key(admin))
    check_model_access(admin, candidate.name)  # raises ModelNotFound when refused


def test_the_active_version_by_name_or_alias_passes_the_check_for_every_key(default_version, candidate):
    from assistant.openai_api.model_access import check_model_access

    anyone = UserFactory()
    for name in (default_version.name, "optiq", None):
        check_model_access(anyone, name)


def test_activation_stays_with_those_who_manage_model_versions(candidate, bearer_client):
    manager = user_in_role(roles.MANAGER)
    response = bearer_client(manager).post(f"/api/v1/models/{candidate.pk}/activate/")
    assert response.status_code == 403
    candidate.refresh_from_db()
    assert not candidate.is_active
