"""Local development and single-machine use (`make run`).

Reads DATABASE_URL / REDIS_URL, or finds the embedded PostgreSQL + pgvector and Valkey under
OPTIQ_DATA_DIR when they are running. Settings start nothing: `make run` and `manage.py`
start the embedded servers and hand their URLs to every process they start.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from optiq_site.embedded import postgres_url_if_running, valkey_url_if_running

from .base import *  # noqa: F403
from .base import DATA_DIR, STATIC_ROOT, cache_settings, database_settings
from .env import env_bool, env_str

# As a practice server would: DJANGO_DEBUG=1 turns Django's debug pages on.
DEBUG = env_bool("DJANGO_DEBUG", False)
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_AUTOREFRESH = DEBUG


def _not_configured(variable: str, service: str, where: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"No {service}: {variable} is not set and the embedded {service} in {where} is not running. "
        "Start the platform with `make run`, or run the command through `python manage.py ...` "
        f"(it starts the embedded servers; `make stop` stops them), or set {variable}."
    )


_database_url = env_str("DATABASE_URL") or postgres_url_if_running(DATA_DIR / "pgdata")
if not _database_url:
    raise _not_configured("DATABASE_URL", "PostgreSQL", str(DATA_DIR / "pgdata"))
DATABASES = {"default": database_settings(_database_url)}

REDIS_URL = env_str("REDIS_URL") or valkey_url_if_running(DATA_DIR / "valkey") or ""
if not REDIS_URL:
    raise _not_configured("REDIS_URL", "broker (Valkey)", str(DATA_DIR / "valkey"))
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
CACHES = cache_settings(REDIS_URL)
