"""Production: every secret and service comes from the environment; nothing is embedded."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import cache_settings, database_settings
from .env import env_bool, env_int, env_str

DEBUG = False

_secret = env_str("DJANGO_SECRET_KEY")
if not _secret or _secret.startswith("optiq-insecure"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Production refuses to start without a secret key: "
        'generate one with `python -c "import secrets; print(secrets.token_urlsafe(50))"` '
        "and set it in the environment."
    )
SECRET_KEY = _secret

DATABASES = {"default": database_settings(env_str("DATABASE_URL", required=True) or "")}
REDIS_URL = env_str("REDIS_URL", required=True) or ""
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
CACHES = cache_settings(REDIS_URL)

SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
