"""Celery tasks. Everything in `inference` is routed to the `inference` queue (settings.CELERY_TASK_ROUTES)."""

from . import inference, knowledge  # noqa: F401
