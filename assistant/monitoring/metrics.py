"""Prometheus metrics of the inference path, per model.

Recorded in the web processes (which see queue wait, first token and the end of every request);
the inference workers' loaded models and busy state are read from Redis at scrape time.

With PROMETHEUS_MULTIPROC_DIR set (the runner, the Docker image and the test servers set it),
every web process writes its values to files there and a scrape adds up all of them
(prometheus_client's multi-process mode), so /metrics is the same whichever process answers.
The directory must be empty when the server starts. A Gauge defined here needs a
`multiprocess_mode` ("livesum", "max", ...) saying how processes combine.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "optiq_inference_requests",
    "OpenAI-compatible API requests by endpoint, model and HTTP status",
    ["endpoint", "model", "status"],
)
PROMPT_TOKENS = Counter("optiq_inference_prompt_tokens", "Prompt tokens processed", ["model"])
GENERATED_TOKENS = Counter("optiq_inference_generated_tokens", "Tokens generated", ["model"])
TOKENS_PER_SECOND = Histogram(
    "optiq_inference_tokens_per_second",
    "Generation speed per request (after the first token)",
    ["model"],
    buckets=(1, 5, 10, 20, 40, 60, 80, 100, 150, 200, 400, 1000),
)
QUEUE_WAIT = Histogram(
    "optiq_inference_queue_wait_seconds",
    "From enqueue until a worker starts the request",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "optiq_inference_time_to_first_token_seconds",
    "From the request until its first token",
    ["model"],
    buckets=LATENCY_BUCKETS,
)


class WorkerCollector(Collector):
    """Which model each live inference worker process has loaded, and whether it is busy."""

    def collect(self) -> Iterable[Metric]:
        from assistant.llm import streams

        loaded = GaugeMetricFamily(
            "optiq_inference_worker_loaded_model",
            "1 for the model each inference worker process holds",
            labels=["worker", "model"],
        )
        busy = GaugeMetricFamily("optiq_inference_workers_busy", "Inference worker processes serving a request")
        live = GaugeMetricFamily("optiq_inference_workers", "Live inference worker processes")
        try:
            conn = streams.connection()
            workers = streams.live_workers(conn)
            loaded_by_worker: dict[bytes, bytes] = conn.hgetall(streams.LOADED_KEY)  # type: ignore[assignment]
            busy_ids: list[bytes] = conn.hkeys(streams.BUSY_KEY)  # type: ignore[assignment]
            models = {k.decode(): v.decode() for k, v in loaded_by_worker.items()}
            busy_count = len([w for w in busy_ids if w.decode() in workers])
        except Exception:
            return
        for worker in workers:
            if worker in models:
                loaded.add_metric([worker, models[worker]], 1)
        live.add_metric([], len(workers))
        busy.add_metric([], busy_count)
        yield from (loaded, live, busy)


_collector = WorkerCollector()
with contextlib.suppress(ValueError):  # already registered (module reloaded)
    REGISTRY.register(_collector)

_METRIC_FILE_PID = re.compile(r"_(\d+)\.db$")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scrape_registry() -> CollectorRegistry:
    """What /metrics serves: this process's registry, or every web process's in multi-process mode."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    # Web workers that exited (a restart, a crash) leave their files: their counters still
    # count, their live gauges must go.
    for pid in {int(m.group(1)) for f in Path(directory).glob("*.db") if (m := _METRIC_FILE_PID.search(f.name))}:
        if not _process_alive(pid):
            multiprocess.mark_process_dead(pid, directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(_collector)
    return registry
