"""Liveness and readiness.

/healthz answers as long as the process serves requests. /readyz checks every service the
platform needs and says, per check, what is wrong; apps add their own checks through
OPTIQ_READINESS_CHECKS (dotted paths of callables returning a ReadinessCheck).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string

QUEUES = ("inference", "training")


@dataclass
class ReadinessCheck:
    name: str
    ok: bool
    detail: str
    required: bool = True


def check_database() -> ReadinessCheck:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
        return ReadinessCheck("database", True, version.split(",")[0])
    except DatabaseError as exc:
        return ReadinessCheck("database", False, f"cannot reach the database: {exc}")


def check_pgvector() -> ReadinessCheck:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except DatabaseError as exc:
        return ReadinessCheck("pgvector", False, f"cannot query extensions: {exc}")
    if row is None:
        return ReadinessCheck(
            "pgvector",
            False,
            "the 'vector' extension is not installed in this database: install pgvector "
            "(https://github.com/pgvector/pgvector) and run `python manage.py migrate`",
        )
    return ReadinessCheck("pgvector", True, f"vector {row[0]}")


def check_migrations() -> ReadinessCheck:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return ReadinessCheck("migrations", False, f"cannot read migration state: {exc}")
    if plan:
        return ReadinessCheck("migrations", False, f"{len(plan)} unapplied: run `python manage.py migrate`")
    return ReadinessCheck("migrations", True, "all applied")


def check_broker() -> ReadinessCheck:
    from optiq_site.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            where = conn.as_uri()  # the password, if any, is masked
        return ReadinessCheck("broker", True, where)
    except Exception as exc:
        return ReadinessCheck("broker", False, f"cannot reach the broker: {exc}")


def workers_by_queue(timeout: float = 1.0) -> dict[str, list[str]]:
    from optiq_site.celery import app

    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    by_queue: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for worker, queues in replies.items():
        for queue in queues:
            by_queue.setdefault(queue["name"], []).append(worker)
    return by_queue


def check_workers() -> list[ReadinessCheck]:
    try:
        by_queue = workers_by_queue()
    except Exception as exc:
        return [ReadinessCheck(f"workers:{queue}", False, f"cannot ask workers: {exc}") for queue in QUEUES]
    checks = []
    for queue in QUEUES:
        workers = by_queue.get(queue, [])
        detail = (
            ", ".join(workers)
            if workers
            else f"no worker answers on the '{queue}' queue: start one with `celery -A optiq_site worker -Q {queue}`"
        )
        checks.append(ReadinessCheck(f"workers:{queue}", bool(workers), detail))
    return checks


def readiness() -> list[ReadinessCheck]:
    checks = [check_database()]
    if checks[0].ok:
        checks += [check_pgvector(), check_migrations()]
    broker = check_broker()
    checks.append(broker)
    if broker.ok:
        checks += check_workers()
    for path in getattr(settings, "OPTIQ_READINESS_CHECKS", []):
        extra: Callable[[], ReadinessCheck | list[ReadinessCheck]] = import_string(path)
        result = extra()
        checks += result if isinstance(result, list) else [result]
    return checks


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness()
    ready = all(check.ok for check in checks if check.required)
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": [asdict(check) for check in checks]},
        status=200 if ready else 503,
    )
