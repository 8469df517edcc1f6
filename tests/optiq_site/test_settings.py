import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from optiq_site.settings.base import ROOT_URLCONF, database_settings
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


def test_a_unix_socket_url_reaches_the_socket_directory_and_a_tcp_url_its_host():
    socket_db = database_settings("postgresql://postgres@/optiq?host=/tmp/pg")
    assert (socket_db["HOST"], socket_db["NAME"], socket_db["USER"]) == ("/tmp/pg", "optiq", "postgres")
    assert "host" not in socket_db["OPTIONS"]
    tcp = database_settings("postgres://u:s%40cret@db.example:5433/practice?sslmode=require")
    assert (tcp["HOST"], tcp["PORT"], tcp["PASSWORD"], tcp["NAME"]) == ("db.example", "5433", "s@cret", "practice")
    assert tcp["OPTIONS"]["sslmode"] == "require"


def test_database_connections_are_pooled_with_health_checks_and_no_persistent_connections():
    db = database_settings("postgresql://u:p@db/optiq")
    assert db["CONN_MAX_AGE"] == 0
    assert db["CONN_HEALTH_CHECKS"] is True  # Django then gives the pool ConnectionPool.check_connection
    pool = db["OPTIONS"]["pool"]
    assert pool["min_size"] <= pool["max_size"]
    assert pool["timeout"] > 0 and pool["max_idle"] > 0


def test_pool_sizes_come_from_the_environment():
    code = (
        "from optiq_site.settings.base import database_settings; "
        "print(database_settings('postgresql://u@db/optiq')['OPTIONS']['pool'])"
    )
    env = {**os.environ, "OPTIQ_DB_POOL_MIN": "0", "OPTIQ_DB_POOL_MAX": "3", "OPTIQ_DB_POOL_TIMEOUT": "4"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "'min_size': 0" in out and "'max_size': 3" in out and "'timeout': 4.0" in out


@pytest.mark.parametrize("url", ["mysql://u:p@db/optiq", "sqlite:///optiq.db", "mongodb://db/optiq"])
def test_a_non_postgres_database_url_is_refused_with_the_reason(url):
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL with pgvector"):
        database_settings(url)


def test_malformed_environment_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("OPTIQ_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="OPTIQ_X must be one of"):
        env_bool("OPTIQ_X", False)
    monkeypatch.setenv("OPTIQ_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="OPTIQ_N must be a whole number"):
        env_int("OPTIQ_N", 1)
