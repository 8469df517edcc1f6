"""/metrics in Prometheus' text format."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from assistant.monitoring import metrics


def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    from optiq_site.operations_access import operations_allowed

    if not operations_allowed(request):
        return HttpResponse(
            "/metrics is for authorised scrapers and staff: send 'Authorization: Bearer <OPTIQ_OPERATIONS_TOKEN>' "
            "or scrape from an address on OPTIQ_OPERATIONS_ALLOW.\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(metrics.scrape_registry()), content_type=CONTENT_TYPE_LATEST)
