"""Inference tasks, routed to the `inference` queue (settings.CELERY_TASK_ROUTES).

Worker processes consuming that queue start a heartbeat when they start (so the web side
knows a worker exists) and preload the active chat model.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready, worker_shutdown

INFERENCE_QUEUE = "inference"


def _consumes_inference() -> bool:
    from optiq_site.celery import app

    return INFERENCE_QUEUE in app.amqp.queues.consume_from


# acks_late off: a request whose worker died cannot be resumed (its client has gone), so it
# must not be redelivered to another worker.
@shared_task(name="assistant.tasks.inference.generate", acks_late=False, ignore_result=True)
def generate(request_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    from assistant.llm.runtime import run_request

    return run_request(request_id, payload)


@worker_process_init.connect
def _start_process(**_: Any) -> None:
    if _consumes_inference():
        from assistant.llm.runtime import ensure_heartbeat

        ensure_heartbeat()


@worker_ready.connect
def _start_solo(sender: Any = None, **_: Any) -> None:
    # Solo and thread pools have no child processes: the worker itself serves requests.
    pool_module = type(getattr(sender, "pool", None)).__module__
    if _consumes_inference() and pool_module.rsplit(".", 1)[-1] in ("solo", "thread"):
        from assistant.llm.runtime import ensure_heartbeat

        ensure_heartbeat()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _stop_process(**_: Any) -> None:
    from assistant.llm import runtime

    if runtime._heartbeat_started:
        runtime.stop_heartbeat()
