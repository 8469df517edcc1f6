"""Local development and single-machine use (`make run`).

Reads DATABASE_URL / REDIS_URL, or finds the embedded PostgreSQL + pgvector and Valkey under
OPTIQ_DATA_DIR when they are running. Settings start nothing: `make run` and `manage.py`
start the embedded servers and hand their URLs to every process they start.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from optiq_site.embedded import postgres_url_if_running, valkey_url_if_running

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DATA_DIR, SECRET_KEY, STATIC_ROOT, cache_settings, database_settings
from .env import env_bool, env_str

# As a practice server would: DJANGO_DEBUG=1 turns Django's debug pages on.
DEBUG = env_bool("DJANGO_DEBUG", False)
SERVESTATIC_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
SERVESTATIC_AUTOREFRESH = DEBUG

# Every entry point falls back to these settings. They keep the development secret key and
# allow debug pages only while the server answers on loopback alone; reachable beyond it, they
# refuse to start rather than serve forgeable sessions or tracebacks with patient data.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
DEVELOPMENT_SECRET_KEY = "optiq-insecure-local-development-key"
_exposed = sorted({*ALLOWED_HOSTS, env_str("OPTIQ_HOST", "127.0.0.1") or "127.0.0.1"} - LOOPBACK_HOSTS)
if _exposed and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or DEBUG):
    raise ImproperlyConfigured(
        f"Served beyond this machine ({', '.join(_exposed)} in DJANGO_ALLOWED_HOSTS / OPTIQ_HOST) with "
        + ("DJANGO_DEBUG on" if DEBUG else "the development secret key")
        + ': set DJANGO_SECRET_KEY (python -c "import secrets; print(secrets.token_urlsafe(50))")'
        + (" and turn DJANGO_DEBUG off" if DEBUG else "")
        + ", or use DJANGO_SETTINGS_MODULE=optiq_site.settings.production."
    )


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
