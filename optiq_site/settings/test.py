"""The test suite: a real PostgreSQL + pgvector and a real Redis-compatible broker.

TEST_DATABASE_URL / TEST_REDIS_URL select external servers; otherwise a private embedded
pair is started for this run and handed to child processes (Celery workers, servers the
tests start) through the same variables.
"""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import DATA_DIR, STATIC_ROOT, database_from_url, database_to_url
from .env import env_str

DEBUG = False
SECRET_KEY = "optiq-test-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
OPTIQ_TEST_DATA_DIR = DATA_DIR / "test"

_database_url = env_str("TEST_DATABASE_URL")
_redis_url = env_str("TEST_REDIS_URL")
if not _database_url or not _redis_url:
    from optiq_site.embedded import test_services_start

    _database, _embedded_redis = test_services_start()
    _database_url = _database_url or database_to_url(_database)
    _redis_url = _redis_url or _embedded_redis
    os.environ["TEST_DATABASE_URL"] = _database_url
    os.environ["TEST_REDIS_URL"] = _redis_url

DATABASES = {"default": database_from_url(_database_url, conn_max_age=0)}
# A worker process started by a test is pointed at the test database by this variable.
if os.environ.get("OPTIQ_TEST_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["OPTIQ_TEST_DATABASE_NAME"]
    DATABASES["default"]["TEST"] = {"NAME": os.environ["OPTIQ_TEST_DATABASE_NAME"]}
REDIS_URL = _redis_url
CELERY_BROKER_URL = _redis_url
