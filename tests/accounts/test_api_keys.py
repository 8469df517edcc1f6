import pytest
from django.core.management import call_command

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_hash, api_key_revoke
from tests.factories import UserFactory


@pytest.mark.django_db
def test_a_bearer_key_authenticates_the_api(api_client):
    user = UserFactory(username="reception1")
    _, raw = api_key_create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == "reception1"


@pytest.mark.django_db
def test_keys_are_stored_hashed_never_in_clear():
    key, raw = api_key_create(user=UserFactory())
    assert raw.startswith("oq_")
    assert key.key_hash == api_key_hash(raw)
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    assert raw not in {key.prefix, key.key_hash}


@pytest.mark.django_db
def test_missing_wrong_or_revoked_keys_get_401(api_client):
    assert api_client.get("/api/v1/me/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Bearer oq_not-a-key")
    assert api_client.get("/api/v1/me/").status_code == 401
    key, raw = api_key_create(user=UserFactory())
    api_key_revoke(key=key)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_create_api_key_prints_the_key_and_nothing_else(capsys, api_client):
    UserFactory(username="manager1")
    call_command("create_api_key", user="manager1")
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("oq_") and "\n" not in printed
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {printed}")
    assert api_client.get("/api/v1/me/").json()["username"] == "manager1"


@pytest.mark.django_db
def test_create_api_key_for_an_unknown_user_names_the_option():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--user: no user named 'ghost'"):
        call_command("create_api_key", user="ghost")


@pytest.mark.django_db
def test_bootstrap_creates_the_demo_admin_once_and_prints_its_password_only_then(settings, tmp_path, capsys):
    import json

    settings.DATA_DIR = tmp_path
    settings.OPTIQ_BOOTSTRAP_COMMANDS = []
    call_command("bootstrap_local")
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    call_command("bootstrap_local")
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["created"] and not second["created"]
    assert "password" not in second and "api_key" not in second
    assert second["file"] == first["file"] == str(tmp_path / "demo-credentials.json")
    assert json.loads((tmp_path / "demo-credentials.json").read_text())["password"] == first["password"]
    assert ApiKey.objects.filter(user__username="admin").count() == 1
    from django.contrib.auth import authenticate

    assert authenticate(username="admin", password=first["password"]) is not None
