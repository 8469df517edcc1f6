"""/metrics in Prometheus' text format."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.monitoring import metrics


def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(metrics.scrape_registry()), content_type=CONTENT_TYPE_LATEST)
