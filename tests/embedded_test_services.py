"""pytest plugin (registered in pyproject.toml): the test run's private PostgreSQL + pgvector
and Valkey.

Starts them before pytest-django reads the settings, unless TEST_DATABASE_URL and
TEST_REDIS_URL point at servers already, and exports both so that every process a test
starts (Celery workers, uvicorn) uses the same pair; such a process finds the test database
itself through OPTIQ_TEST_DATABASE_NAME. The pair is removed when the run ends.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    options = early_config.known_args_namespace
    if getattr(options, "help", False) or getattr(options, "version", False):
        return
    # Importing the optiq_site package (for the embedded runtime) would otherwise default the
    # settings to local ones before pytest-django reads the ini file.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", early_config.getini("DJANGO_SETTINGS_MODULE"))
    if os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"):
        return
    from optiq_site.embedded import test_services_start

    database_url, redis_url = test_services_start()
    os.environ.setdefault("TEST_DATABASE_URL", database_url)
    os.environ.setdefault("TEST_REDIS_URL", redis_url)
