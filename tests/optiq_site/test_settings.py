import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from optiq_site.settings.base import ROOT_URLCONF, database_from_url, database_to_url
from optiq_site.settings.env import env_bool, env_int


def _import_production(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import optiq_site.settings.production"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _import_production({"DATABASE_URL": "postgresql://u:p@db/optiq", "REDIS_URL": "redis://r:6379/0"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_names_a_missing_database_url():
    result = _import_production({"DJANGO_SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "DATABASE_URL is required" in result.stderr


def test_production_starts_with_secret_and_services():
    result = _import_production(
        {
            "DJANGO_SECRET_KEY": "x" * 50,
            "DATABASE_URL": "postgresql://u:p@db:5433/optiq",
            "REDIS_URL": "redis://r:6379/0",
        }
    )
    assert result.returncode == 0, result.stderr
    assert ROOT_URLCONF == "optiq_site.urls"


def test_database_url_round_trips_a_unix_socket_and_a_tcp_host():
    socket_db = database_from_url("postgresql://postgres@/optiq?host=/tmp/pg")
    assert (socket_db["HOST"], socket_db["NAME"], socket_db["USER"]) == ("/tmp/pg", "optiq", "postgres")
    assert database_from_url(database_to_url(socket_db))["HOST"] == "/tmp/pg"
    tcp = database_from_url("postgres://u:s%40cret@db.example:5433/practice")
    assert (tcp["HOST"], tcp["PORT"], tcp["PASSWORD"], tcp["NAME"]) == ("db.example", "5433", "s@cret", "practice")


def test_a_non_postgres_database_url_is_refused_with_the_reason():
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL with pgvector"):
        database_from_url("mysql://u:p@db/optiq")


def test_malformed_environment_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("OPTIQ_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="OPTIQ_X must be one of"):
        env_bool("OPTIQ_X", False)
    monkeypatch.setenv("OPTIQ_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="OPTIQ_N must be a whole number"):
        env_int("OPTIQ_N", 1)
