"""One error path for the API: known errors become their status naming the field, anything
else a JSON 500 with the request id that is also in the log; never an HTML page under
/api/ or /v1/, also with DEBUG on."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import OperationalError
from django.test import Client, override_settings
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from assistant.llm.errors import BackendError, ModelNotFound, NoWorkerAvailable, RequestRejected
from assistant.models import KnowledgeDocument

pytestmark = pytest.mark.django_db


def _view_raising(exc: Exception) -> APIView:
    class Raising(APIView):
        authentication_classes: list = []
        permission_classes: list = []

        def get(self, request):  # type: ignore[no-untyped-def]
            raise exc

    return Raising.as_view()


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            ValidationError({"quantity": ["Quantity must be at least 1 (got 0)."]}),
            400,
            {"quantity": ["Quantity must be at least 1 (got 0)."]},
        ),
        (
            ValidationError("A sale needs at least one line."),
            400,
            {"non_field_errors": ["A sale needs at least one line."]},
        ),
        (
            PermissionDenied("Reception cannot see cost prices."),
            403,
            {"detail": "Reception cannot see cost prices.", "code": "permission_denied"},
        ),
        (ObjectDoesNotExist("No such patient."), 404, {"detail": "No such patient.", "code": "not_found"}),
        (
            ModelNotFound("The model 'x' does not exist"),
            404,
            {"detail": "The model 'x' does not exist", "code": "model_not_found"},
        ),
        (
            RequestRejected("The prompt is longer than the context", code="context_length_exceeded"),
            400,
            {"detail": "The prompt is longer than the context", "code": "context_length_exceeded"},
        ),
        (
            BackendError("the external server answered 500"),
            502,
            {"detail": "the external server answered 500", "code": "backend_error"},
        ),
    ],
)
def test_known_service_errors_become_their_status_naming_the_field(exc, status, body):
    response = _view_raising(exc)(APIRequestFactory().get("/api/v1/anything/"))
    assert response.status_code == status
    data = dict(response.data)
    if status >= 500:  # a failing backend is quoted by request id, like any server error
        assert data.pop("request_id")
    assert data == body


def test_no_free_inference_worker_is_a_503_with_retry_after():
    response = _view_raising(NoWorkerAvailable("every inference worker is busy", retry_after=7))(
        APIRequestFactory().get("/api/v1/anything/")
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "7"


def test_an_unreachable_database_is_a_503_with_retry_after_not_a_500():
    response = _view_raising(OperationalError("connection refused"))(APIRequestFactory().get("/api/v1/anything/"))
    assert response.status_code == 503
    assert response.data["code"] == "database_unavailable"
    assert int(response["Retry-After"]) > 0


def test_an_unexpected_error_is_a_json_500_whose_request_id_is_in_the_log(monkeypatch, bearer_client, caplog):
    from accounts.api import views

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("serializer exploded")

    monkeypatch.setattr(views, "MeSerializer", broken)
    client = bearer_client()
    with caplog.at_level(logging.ERROR, logger="optiq.api"):
        response = client.get("/api/v1/me/", HTTP_X_REQUEST_ID="report-4711")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["request_id"] == "report-4711" == response["X-Request-ID"]
    assert "report-4711" in body["detail"]
    logged = [r for r in caplog.records if r.name == "optiq.api"]
    assert logged and "report-4711" in logged[0].getMessage()
    assert logged[0].request_id == "report-4711"
    assert logged[0].exc_info and "serializer exploded" in str(logged[0].exc_info[1])


def test_a_knowledge_document_without_slug_or_title_is_a_400_naming_slug_and_nothing_is_written(django_user_model):
    admin = django_user_model.objects.create_superuser("kb-admin", "kb@example.com", "pass-word-123")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/api/v1/assistant/knowledge/documents/",
        {"content": "Lenses are cleaned with a microfibre cloth.", "source_type": "markdown"},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "slug" in response.json()
    assert not KnowledgeDocument.objects.exists()


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing-here"])
def test_an_unknown_api_url_is_a_json_404_even_with_debug_on(path):
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert path in response.json()["detail"]


@override_settings(DEBUG=True)
def test_an_unknown_v1_url_is_a_404_in_openai_error_shape_even_with_debug_on():
    response = Client().get("/v1/no-such-endpoint")
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert "/v1/no-such-endpoint" in error["message"]


@override_settings(DEBUG=True)
def test_an_unexpected_error_in_v1_is_a_500_in_openai_shape_with_the_request_id(monkeypatch, api_key, caplog):
    import assistant.registry.selectors as selectors

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("registry exploded")

    monkeypatch.setattr(selectors, "model_version_list", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="optiq.api"):
        response = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["type"] == "server_error"
    assert body["request_id"] == response["X-Request-ID"]
    assert body["request_id"] in body["error"]["message"]
    assert any(r.request_id == body["request_id"] and r.exc_info for r in caplog.records if r.name == "optiq.api")


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept():
    client = Client()
    fresh = client.get("/healthz")["X-Request-ID"]
    assert len(fresh) >= 16
    assert client.get("/healthz")["X-Request-ID"] != fresh
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-2f9c.17")["X-Request-ID"] == "lb-2f9c.17"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\r\nSet-Cookie: a=b")["X-Request-ID"]
    assert "\n" not in forged and "Set-Cookie" not in forged
    assert client.get("/admin/no-such-page/")["X-Request-ID"]


def test_the_real_servers_log_lines_name_the_request_id(live_api, tmp_path):
    import time

    import httpx

    base = live_api()
    response = httpx.get(f"{base}/api/v1/no-such-thing/", headers={"X-Request-ID": "probe-log-77"}, timeout=10)
    assert response.status_code == 404 and response.headers["X-Request-ID"] == "probe-log-77"
    log = tmp_path / "uvicorn-0.log"
    deadline = time.monotonic() + 10
    while "[probe-log-77]" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
        time.sleep(0.1)
