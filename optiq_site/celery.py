"""The Celery application: queues `inference` and `training` (see CELERY_TASK_ROUTES)."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.local")

app = Celery("optiq")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connection pools a prefork child inherited from its parent, kept referenced so that nothing
# in the child ever closes them (see below).
_inherited_pools: list[Any] = []


@worker_process_init.connect
def _leave_the_parents_database_pool(**_: Any) -> None:
    """A prefork child must not use, nor close, the parent's psycopg pool: its connections'
    sockets are shared with the parent (closing one in the child ends the parent's session)
    and its maintenance threads did not survive the fork. The child forgets the pool, and
    Django opens a fresh one on first use. Connected at import, so this runs before Celery's
    own Django fixup closes connections in the child."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    pools: dict[str, Any] = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]
    for alias, pool in list(pools.items()):
        _inherited_pools.append(pool)
        del pools[alias]
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            # psycopg only finishes a connection in the process that opened it, so dropping
            # the object here sends nothing on the parent's socket.
            _inherited_pools.append(wrapper.connection)
            wrapper.connection = None
