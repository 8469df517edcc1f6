"""The test suite: a real PostgreSQL + pgvector and a real Redis-compatible broker.

Reads TEST_DATABASE_URL / TEST_REDIS_URL. The test session (tests/embedded_test_services.py,
a pytest plugin) starts a private embedded pair for the run when they are not set and
exports them, so child processes (Celery workers, servers the tests start) find the same.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATA_DIR, STATIC_ROOT, cache_settings, database_settings
from .env import env_list, env_str

DEBUG = False
SECRET_KEY = "optiq-test-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SERVESTATIC_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
OPTIQ_TEST_DATA_DIR = DATA_DIR / "test"

_database_url = env_str("TEST_DATABASE_URL")
_redis_url = env_str("TEST_REDIS_URL")
if not _database_url or not _redis_url:
    raise ImproperlyConfigured(
        "The test settings need TEST_DATABASE_URL and TEST_REDIS_URL. `make test` (pytest) starts a "
        "private embedded PostgreSQL + Valkey and sets both; a process started outside pytest must be given them."
    )

DATABASES = {"default": database_settings(_database_url)}
# A worker process started by a test is pointed at the test database by this variable.
if os.environ.get("OPTIQ_TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["OPTIQ_TEST_DATABASE_NAME"]
    DATABASES["default"]["TEST"] = {"NAME": os.environ["OPTIQ_TEST_DATABASE_NAME"]}
REDIS_URL = _redis_url
CELERY_BROKER_URL = _redis_url
CACHES = cache_settings(REDIS_URL)
# The suite's servers and clients are on loopback; tests of the operational surface's access
# rule set their own list.
OPTIQ_OPERATIONS_ALLOW = env_list("OPTIQ_OPERATIONS_ALLOW", ["127.0.0.1"])
