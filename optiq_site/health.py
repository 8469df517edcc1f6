"""Liveness and readiness.

/healthz answers as long as the process serves requests. /readyz checks every service the
platform needs and says, per check, what is wrong; apps add their own checks through
OPTIQ_READINESS_CHECKS (dotted paths of callables returning a ReadinessCheck).

/readyz answers within OPTIQ_READINESS_TIMEOUT_S whatever is down: the checks run at the same
time, each with its own timeout (a statement timeout on the database, socket timeouts on the
broker, the workers' reply timeout), and a check still running at the deadline is reported
as failing with what it was waiting for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
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


def _timeout_s() -> float:
    return float(settings.OPTIQ_READINESS_TIMEOUT_S)


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


_migrations_applied = threading.Event()  # once seen applied, they stay so for this code


def check_migrations() -> ReadinessCheck:
    if _migrations_applied.is_set():
        return ReadinessCheck("migrations", True, "all applied")
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return ReadinessCheck("migrations", False, f"cannot read migration state: {exc}")
    if plan:
        return ReadinessCheck("migrations", False, f"{len(plan)} unapplied: run `python manage.py migrate`")
    _migrations_applied.set()
    return ReadinessCheck("migrations", True, "all applied")


def _broker_connection():  # type: ignore[no-untyped-def]
    from optiq_site.celery import app

    timeout = float(settings.OPTIQ_BROKER_TIMEOUT_S)
    return app.connection_for_write(
        connect_timeout=timeout,
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )


def check_broker() -> ReadinessCheck:
    try:
        with _broker_connection() as conn:
            conn.ensure_connection(max_retries=0, timeout=float(settings.OPTIQ_BROKER_TIMEOUT_S))
            client = getattr(conn.default_channel, "client", None)
            if client is not None:  # Redis: a paused server accepts connections but answers nothing
                client.ping()
            where = conn.as_uri()  # the password, if any, is masked
        return ReadinessCheck("broker", True, where)
    except Exception as exc:
        return ReadinessCheck("broker", False, f"cannot reach the broker: {exc}")


def workers_by_queue(timeout: float = 1.0) -> dict[str, list[str]]:
    from optiq_site.celery import app

    with _broker_connection() as conn:
        replies = app.control.inspect(timeout=timeout, connection=conn).active_queues() or {}
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


def _database_checks() -> list[ReadinessCheck]:
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # A server that takes connections but hangs on statements is not ready either.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(_timeout_s() * 1000)}ms"])
            checks = [check_database()]
            if checks[0].ok:
                checks += [check_pgvector(), check_migrations()]
    except DatabaseError as exc:
        return [ReadinessCheck("database", False, f"cannot reach the database: {exc}")]
    return checks


def _broker_checks() -> list[ReadinessCheck]:
    broker = check_broker()
    return [broker, *check_workers()] if broker.ok else [broker]


def _extra_check(path: str) -> Callable[[], list[ReadinessCheck]]:
    def run() -> list[ReadinessCheck]:
        extra: Callable[[], ReadinessCheck | list[ReadinessCheck]] = import_string(path)
        result = extra()
        return result if isinstance(result, list) else [result]

    return run


def _in_own_connection(check: Callable[[], list[ReadinessCheck]]) -> list[ReadinessCheck]:
    try:
        return check()
    finally:
        connections.close_all()  # this thread's connection goes back to the pool


def readiness() -> list[ReadinessCheck]:
    """Every check, run at once; what has not answered by the deadline is reported as failing."""
    groups: dict[str, tuple[str, Callable[[], list[ReadinessCheck]]]] = {
        "database": ("the database", _database_checks),
        "broker": ("the broker", _broker_checks),
    }
    for path in getattr(settings, "OPTIQ_READINESS_CHECKS", []):
        name = path.rsplit(".", 1)[-1].removeprefix("check_")
        groups[name] = (path, _extra_check(path))
    deadline = _timeout_s()
    executor = ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="readyz")
    try:
        futures = {name: executor.submit(_in_own_connection, check) for name, (_, check) in groups.items()}
        wait(futures.values(), timeout=deadline)
    finally:
        # A check stuck in I/O finishes on its own within its timeout; nobody waits for it.
        executor.shutdown(wait=False, cancel_futures=True)
    checks: list[ReadinessCheck] = []
    for name, future in futures.items():
        if not future.done():
            checks.append(ReadinessCheck(name, False, f"{groups[name][0]} did not answer within {deadline:g} s"))
        elif (error := future.exception()) is not None:
            checks.append(ReadinessCheck(name, False, f"the check failed: {error!r}"))
        else:
            checks += future.result()
    return checks


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """The status for everyone (a load balancer needs no more); each check's detail only for
    staff and authorised scrapers (optiq_site.operations_access)."""
    from optiq_site.operations_access import operations_allowed

    checks = readiness()
    ready = all(check.ok for check in checks if check.required)
    body: dict[str, object] = {"status": "ready" if ready else "not ready"}
    if operations_allowed(request):
        body["checks"] = [asdict(check) for check in checks]
    return JsonResponse(body, status=200 if ready else 503)
