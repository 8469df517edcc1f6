"""Settings shared by every environment; the environment-specific modules extend these."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from kombu import Queue

from .env import env_bool, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = env_path("OPTIQ_DATA_DIR", BASE_DIR / "var")
MODELS_DIR = env_path("OPTIQ_MODELS_DIR", DATA_DIR / "models")
ARTIFACTS_DIR = env_path("OPTIQ_ARTIFACTS_DIR", DATA_DIR / "artifacts")
# A GGUF base is converted to a Hugging Face directory once, for every job that trains on it.
BASE_CACHE_DIR = env_path("OPTIQ_BASE_CACHE_DIR", ARTIFACTS_DIR / "base-cache")
MEDIA_ROOT = env_path("OPTIQ_MEDIA_DIR", DATA_DIR / "media")
MEDIA_URL = "/media/"

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "optiq-insecure-local-development-key") or ""
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "accounts",
    "practice",
    "assistant",
    "training_jobs",
    "axes",
]

MIDDLEWARE = [
    "optiq_site.request_ids.RequestIdMiddleware",
    "optiq_site.exception_handlers.ApiErrorsAsJsonMiddleware",
    "optiq_site.upload_limits.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its clear 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "optiq_site.urls"
ASGI_APPLICATION = "optiq_site.asgi.application"
WSGI_APPLICATION = "optiq_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Database: one PostgreSQL (with pgvector) from a URL, through Django's psycopg pool ------
# Under ASGI, persistent connections (CONN_MAX_AGE) leave one open connection per executor
# thread; the pool bounds them. Every process has its own pool: the web server's size is the
# default here, and the runner and docker/compose.yaml give workers a smaller one. Budget:
# web processes x OPTIQ_DB_POOL_MAX + worker processes x theirs + headroom <= max_connections.
DATABASE_POOL_ENABLED = env_bool("OPTIQ_DB_POOL", True)
DATABASE_POOL: dict[str, Any] = {
    "min_size": env_int("OPTIQ_DB_POOL_MIN", 2),
    "max_size": env_int("OPTIQ_DB_POOL_MAX", 16),
    # How long a request waits for a free connection before it fails (503).
    "timeout": env_float("OPTIQ_DB_POOL_TIMEOUT", 10.0),
    # Connections above min_size idle this long are closed, one per period.
    "max_idle": env_float("OPTIQ_DB_POOL_MAX_IDLE", 5.0),
    # A pool that cannot reconnect gives up this attempt and starts a fresh one on the next
    # request, so a restarted database is found again within seconds (the default is 5 min).
    "reconnect_timeout": 5.0,
    "name": "optiq",
}


def database_settings(url: str) -> dict[str, Any]:
    """Django settings for a postgresql:// URL (dj-database-url), pooled, with health checks.

    ``postgresql://user@/name?host=/socket/dir`` reaches a server over its Unix socket, as
    the embedded one is.
    """
    from django.core.exceptions import ImproperlyConfigured

    scheme = url.split("://", 1)[0] if "://" in url else url[:20]
    refusal = f"DATABASE_URL must be a postgresql:// URL (OptiQ needs PostgreSQL with pgvector); got scheme {scheme!r}."
    try:
        parsed = dj_database_url.parse(
            url,
            # Only with the pool off (OPTIQ_DB_POOL=0): the old persistent connections, which the
            # load benchmark measures the pool against.
            conn_max_age=0 if DATABASE_POOL_ENABLED else env_int("OPTIQ_DB_CONN_MAX_AGE", 0),
            conn_health_checks=True,
            disable_server_side_cursors=not env_bool("OPTIQ_DB_SERVER_SIDE_CURSORS", True),
        )
    except dj_database_url.UnknownSchemeError:
        raise ImproperlyConfigured(refusal) from None
    except dj_database_url.ParseError:
        raise ImproperlyConfigured(
            "DATABASE_URL is not a valid URL; expected postgresql://user:password@host:5432/name."
        ) from None
    db: dict[str, Any] = dict(parsed)
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(refusal)
    options: dict[str, Any] = dict(db.get("OPTIONS") or {})
    if not db["HOST"] and options.get("host"):  # ?host=/socket/dir
        db["HOST"] = str(options.pop("host"))
    db["PORT"] = str(db["PORT"] or "")
    db["NAME"] = db["NAME"] or "optiq"
    options.setdefault("connect_timeout", env_int("OPTIQ_DB_CONNECT_TIMEOUT", 5))
    if DATABASE_POOL_ENABLED:
        options["pool"] = dict(DATABASE_POOL)
    db["OPTIONS"] = options
    return db


# DATABASES and REDIS_URL are set by local/test/production.
DATABASES: dict[str, dict[str, Any]] = {}
REDIS_URL = ""
CELERY_BROKER_URL = ""
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("OPTIQ_TIME_ZONE", "Europe/London") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "optiq_site.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "optiq_site.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "optiq_site.exception_handlers.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "accounts.throttling.UserRateThrottle",
        "accounts.throttling.ApiKeyRateThrottle",
        "accounts.throttling.AnonymousRateThrottle",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OptiQ API",
    "DESCRIPTION": "Practice data, the assistant and fine-tuning for optical practices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs for staff and authorised scrapers only (optiq_site.operations_access).
    "SERVE_PERMISSIONS": ["optiq_site.operations_access.OperationsPermission"],
    "SERVE_AUTHENTICATION": [
        "optiq_site.operations_access.OperationsTokenAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the sidecar package: the docs work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per choice set where several models share a field name.
    "ENUM_NAME_OVERRIDES": {
        "SaleStatusEnum": "practice.models.choices.SaleStatus",
        "LabJobStatusEnum": "practice.models.choices.LabJobStatus",
        "RecallStatusEnum": "practice.models.choices.RecallStatus",
        "RecallKindEnum": "practice.models.choices.RecallKind",
        "MovementKindEnum": "practice.models.choices.MovementKind",
        "PrismBaseEnum": "practice.models.choices.PrismBase",
        "ProductCategoryEnum": "practice.models.choices.Category",
        "LensTypeEnum": "practice.models.choices.LensType",
    },
}

# `/v1` is written out by hand (its views stream, outside DRF) and joins the one API schema;
# the errors the exception handler answers are declared on every operation.
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "optiq_site.error_schema.add_error_responses",
    "assistant.openai_api.schema.add_openai_paths",
]

# --- Celery --------------------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("inference"), Queue("training"))
# Routes by task module: everything under assistant.tasks.inference goes to the inference
# workers, training_jobs.tasks to the (GPU) training workers.
CELERY_TASK_ROUTES = {
    "assistant.tasks.inference.*": {"queue": "inference"},
    "training_jobs.tasks.*": {"queue": "training"},
}
CELERY_TASK_SOFT_TIME_LIMIT = env_int("OPTIQ_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("OPTIQ_TASK_TIME_LIMIT", 330)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, float] = {"visibility_timeout": 6 * 3600}
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True

# --- OptiQ ---------------------------------------------------------------------------------
# /readyz answers within this long whatever is down; a check still running then is reported as failing.
OPTIQ_READINESS_TIMEOUT_S = env_float("OPTIQ_READINESS_TIMEOUT_S", 1.5)
# How long a request may wait for a free inference worker before it gets 503 + Retry-After.
OPTIQ_INFERENCE_QUEUE_TIMEOUT = env_float("OPTIQ_INFERENCE_QUEUE_TIMEOUT", 30.0)
OPTIQ_LLM_THREADS = env_int("OPTIQ_LLM_THREADS", 0)  # 0: llama.cpp's default
# llama.cpp's repacked/AMX weight buffers: faster on some CPUs, but they crash batched decoding
# inside some VMs that advertise AMX; off unless asked for.
OPTIQ_LLM_REPACK = env_bool("OPTIQ_LLM_REPACK", False)
OPTIQ_HF_TOKEN = env_str("HF_TOKEN", None)
# A running training job whose worker wrote no heartbeat for this long is resumed elsewhere
# (or failed once its attempts are used up).
OPTIQ_TRAINING_STALE_AFTER_S = env_int("OPTIQ_TRAINING_STALE_AFTER_S", 300)
OPTIQ_TRAINING_PROGRESS_INTERVAL = env_float("OPTIQ_TRAINING_PROGRESS_INTERVAL", 3.0)  # seconds between progress writes

# --- Practice: sales ---
# A discount above this percentage of a line needs practice.give_large_discount (managers).
OPTIQ_DISCOUNT_LIMIT_PERCENT = env_float("OPTIQ_DISCOUNT_LIMIT_PERCENT", 10.0)

# --- Broker timeouts: a broker that is down or hangs turns into a 503 in seconds -----------
# Every Redis socket (readiness, inference streams and Celery's publish) gives up after this many
# seconds; publishing retries once, so `apply_async` cannot block a request. 1.5 s keeps the
# whole 503 under 2 s.
OPTIQ_BROKER_TIMEOUT_S = env_float("OPTIQ_BROKER_TIMEOUT_S", 1.5)
CELERY_BROKER_CONNECTION_TIMEOUT = OPTIQ_BROKER_TIMEOUT_S
CELERY_BROKER_TRANSPORT_OPTIONS.update(
    socket_timeout=OPTIQ_BROKER_TIMEOUT_S, socket_connect_timeout=OPTIQ_BROKER_TIMEOUT_S
)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}

# Data questions: the first day of the practice's financial year, "MM-DD" (UK: 6 April).
OPTIQ_FINANCIAL_YEAR_START = env_str("OPTIQ_FINANCIAL_YEAR_START", "04-06") or "04-06"

# Management commands `make run` runs on every start after migrating, in order, when the
# command exists (apps add their demo data and knowledge here).
OPTIQ_BOOTSTRAP_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("seed_demo", {}),
    ("register_default_model", {}),
    ("ingest_knowledge", {}),  # unchanged documents are skipped (content hash): re-runs are fast
    ("load_training_examples", {}),  # the shipped approved examples; duplicates are skipped
]
OPTIQ_READINESS_CHECKS = ["assistant.monitoring.readiness.check_active_model"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "optiq_site.request_ids.RequestIdLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("OPTIQ_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}


# --- Security: rate limits and login lockout ------------------------------------------------
# Requests per user (session or any key), per API key and per address without a login, on the
# REST API and /v1 (accounts.throttling); "N/s", "N/min", "N/hour" or "N/day"; "off": no limit.
def _rate(variable: str, default: str) -> str | None:
    value = env_str(variable, default) or default
    return None if value.lower() == "off" else value


OPTIQ_THROTTLE_RATES: dict[str, str | None] = {
    "user": _rate("OPTIQ_THROTTLE_USER", "1200/min"),
    "api_key": _rate("OPTIQ_THROTTLE_API_KEY", "600/min"),
    "anonymous": _rate("OPTIQ_THROTTLE_ANONYMOUS", "120/min"),
}


# /metrics, the API schema and docs and /readyz's detail: staff, this token (as a Bearer token)
# or these client addresses/networks (optiq_site.operations_access). `make run` makes a token.
OPTIQ_OPERATIONS_TOKEN = env_str("OPTIQ_OPERATIONS_TOKEN", None)
OPTIQ_OPERATIONS_ALLOW = env_list("OPTIQ_OPERATIONS_ALLOW", [])


def check_networks(variable: str, networks: list[str]) -> list[str]:
    import ipaddress

    from django.core.exceptions import ImproperlyConfigured

    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{variable}: {network!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)."
            ) from None
    return networks


check_networks("OPTIQ_OPERATIONS_ALLOW", OPTIQ_OPERATIONS_ALLOW)

# --- Security: uploads (optiq_site.upload_limits) ---
# An uploaded file (a knowledge document, a training JSONL) may be at most this large; a whole
# request body at most that plus a margin for the form around it, refused before it is read.
OPTIQ_UPLOAD_MAX_BYTES = int(env_float("OPTIQ_UPLOAD_MAX_MB", 20.0) * 1024 * 1024)
OPTIQ_REQUEST_MAX_BYTES = OPTIQ_UPLOAD_MAX_BYTES + 1024 * 1024
# Bodies (JSON) held in memory, and files kept in memory before they go to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("OPTIQ_BODY_MAX_MEMORY_BYTES", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("OPTIQ_FILE_MAX_MEMORY_BYTES", 2_621_440)
# PDF text extraction stops with a clear error past this many pages or seconds.
OPTIQ_PDF_MAX_PAGES = env_int("OPTIQ_PDF_MAX_PAGES", 300)
OPTIQ_PDF_MAX_SECONDS = env_float("OPTIQ_PDF_MAX_SECONDS", 30.0)

# --- Security: the model registry (assistant.registry.services) ---
# Directories besides OPTIQ_MODELS_DIR and OPTIQ_ARTIFACTS_DIR that the API and the admin may
# register GGUFs from; and, when set, the only hosts an external model server may be on.
OPTIQ_MODEL_PATH_ROOTS = env_list("OPTIQ_MODEL_PATH_ROOTS", [])
OPTIQ_EXTERNAL_MODEL_HOSTS = env_list("OPTIQ_EXTERNAL_MODEL_HOSTS", [])


# A rate-limit count is one small command: a cache slower than this is treated as down (the
# request goes through, accounts.throttling), so that a hung broker does not delay every request.
OPTIQ_CACHE_TIMEOUT_S = env_float("OPTIQ_CACHE_TIMEOUT_S", 0.25)


def cache_settings(redis_url: str) -> dict[str, Any]:
    """The default cache (rate-limit counts) on the broker's Valkey, shared by every web process."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "optiq-cache",
            "OPTIONS": {"socket_timeout": OPTIQ_CACHE_TIMEOUT_S, "socket_connect_timeout": OPTIQ_CACHE_TIMEOUT_S},
        }
    }


# django-axes: a staff login is locked after this many wrong passwords (and an address after as
# many wrong API keys) for OPTIQ_LOGIN_LOCKOUT_MINUTES; see accounts.lockout.
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("OPTIQ_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("OPTIQ_LOGIN_LOCKOUT_MINUTES", 15.0))
AXES_LOCKOUT_PARAMETERS = "accounts.lockout.lockout_parameters"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Wrong passwords are logged by axes with the username and address only, never the password.
AXES_VERBOSE = True
