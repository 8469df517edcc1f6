"""Local development and single-machine use (`make run`).

Without DATABASE_URL / REDIS_URL the embedded PostgreSQL + pgvector and Valkey under
OPTIQ_DATA_DIR are started (or reused) on first use.
"""

from __future__ import annotations

import os

from .base import *  # noqa: F403
from .base import DATA_DIR, STATIC_ROOT, database_from_url, database_to_url
from .env import env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = DEBUG

_database_url = env_str("DATABASE_URL")
if not _database_url:
    from optiq_site.embedded import postgres_start

    _database_url = database_to_url(postgres_start(DATA_DIR / "pgdata"))
    os.environ["DATABASE_URL"] = _database_url  # child processes reuse it
DATABASES = {"default": database_from_url(_database_url)}

REDIS_URL = env_str("REDIS_URL") or ""
if not REDIS_URL:
    from optiq_site.embedded import valkey_start

    REDIS_URL = valkey_start(DATA_DIR / "valkey")
    os.environ["REDIS_URL"] = REDIS_URL
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
