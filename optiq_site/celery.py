"""The Celery application: queues `inference` and `training` (see CELERY_TASK_ROUTES)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.local")

app = Celery("optiq")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
