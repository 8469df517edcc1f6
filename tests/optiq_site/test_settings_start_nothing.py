"""Settings only read configuration; the entry points start the embedded services: `manage.py`
in local mode (the servers stay up for the next command until `make stop`), the runner, and
this test session (which hands its servers to child processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from optiq_site import embedded
from tests.conftest import ROOT

_SERVICE_VARIABLES = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL"}


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES and k != "DJANGO_SETTINGS_MODULE"}
    return {**env, "OPTIQ_DATA_DIR": str(data_dir), **extra}


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


READ_LOCAL_SETTINGS = (
    "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'optiq_site.settings.local'; "
    "from django.conf import settings; print(settings.DATABASES['default']['HOST'], settings.DEBUG)"
)


def test_local_settings_without_urls_or_a_running_server_say_what_to_do_and_start_nothing(tmp_path):
    result = _python(READ_LOCAL_SETTINGS, _clean_env(tmp_path))
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "make run" in result.stderr and "manage.py" in result.stderr
    assert not (tmp_path / "pgdata").exists() and not (tmp_path / "valkey").exists()


def test_test_settings_without_their_urls_say_what_to_do():
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARIABLES}
    result = _python("import optiq_site.settings.test", env)
    assert result.returncode != 0
    assert "TEST_DATABASE_URL and TEST_REDIS_URL" in result.stderr


@pytest.mark.parametrize(("flag", "debug"), [(None, "False"), ("0", "False"), ("1", "True")])
def test_local_settings_serve_without_debug_pages_unless_django_debug_is_set(tmp_path, flag, debug):
    extra = {"DATABASE_URL": "postgresql://u@db/optiq", "REDIS_URL": "redis://r:6379/0"}
    if flag is not None:
        extra["DJANGO_DEBUG"] = flag
    result = _python(READ_LOCAL_SETTINGS, _clean_env(tmp_path, **extra))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["db", debug]


def test_a_manage_py_command_in_local_mode_starts_the_embedded_servers_and_the_next_one_reuses_them():
    data_dir = Path(tempfile.mkdtemp(prefix="optiq-local-"))  # short: the socket path has a length limit
    env = _clean_env(data_dir)
    try:
        first = subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert first.returncode == 0, first.stderr
        database_url = embedded.postgres_url_if_running(data_dir / "pgdata")
        redis_url = embedded.valkey_url_if_running(data_dir / "valkey")
        assert database_url and redis_url, "the servers keep running for the next command"
        # A process that starts nothing (settings only) finds the running servers.
        found = _python(READ_LOCAL_SETTINGS, env)
        assert found.returncode == 0, found.stderr
        assert found.stdout.split()[0] == str(data_dir / "pgdata")
    finally:
        embedded.valkey_stop(data_dir / "valkey")
        embedded.postgres_stop(data_dir / "pgdata")
    assert embedded.postgres_url_if_running(data_dir / "pgdata") is None


def test_the_test_session_hands_its_private_servers_to_child_processes():
    from django.conf import settings

    code = (
        "import django; django.setup(); from django.db import connection; "
        "print(connection.cursor().connection.info.dbname)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test", "OPTIQ_TEST_DATABASE_NAME": "postgres"}
    result = _python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres"
    assert os.environ["TEST_REDIS_URL"] == settings.CELERY_BROKER_URL
