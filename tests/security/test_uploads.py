"""Uploads: a body's declared size and a file's size are checked before they are read, PDF text
extraction is bounded in pages and time, and nothing is half-written when an upload is refused."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pypdf import PdfWriter

from accounts.services import api_key_create
from assistant.models import KnowledgeDocument
from practice import roles
from tests.practice.factories import user_in_role
from training_jobs.models import TrainingExample

pytestmark = pytest.mark.django_db

KNOWLEDGE = "/api/v1/assistant/knowledge/documents/"


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def editor(admin_as):  # type: ignore[no-untyped-def]
    return admin_as(user_in_role(roles.ML_ADMIN))


def test_a_body_declared_larger_than_the_limit_is_refused_before_it_is_read(settings, editor):
    settings.OPTIQ_REQUEST_MAX_BYTES = 10_000
    # The body is small: only its declared length is over. Had the server waited to read the
    # declared 50 MB, the request would not have been answered from its headers.
    refused = editor.post(KNOWLEDGE, data=b"{}", content_type="application/json", CONTENT_LENGTH="50000000")
    assert refused.status_code == 413
    assert "requests may be at most" in refused.json()["detail"]
    _, key = api_key_create(user=user_in_role(roles.RECEPTION))
    v1 = Client().post(
        "/v1/chat/completions",
        data=b"{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        CONTENT_LENGTH="50000000",
    )
    assert v1.status_code == 413 and v1.json()["error"]["code"] == "request_too_large"


def test_a_json_body_over_the_memory_limit_is_a_413_not_a_500(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    _, key = api_key_create(user=user_in_role(roles.RECEPTION))
    body = json.dumps({"messages": [{"role": "user", "content": "x" * 5_000}]})
    v1 = Client().post(
        "/v1/chat/completions", data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert v1.status_code == 413, v1.content
    assert v1.json()["error"]["code"] == "request_too_large"


def test_a_knowledge_file_over_the_upload_limit_is_refused_naming_the_field(settings, editor):
    settings.OPTIQ_UPLOAD_MAX_BYTES = 1_000
    upload = SimpleUploadedFile("lenses.md", b"# Lenses\n\n" + b"Progressive lenses. " * 200)
    refused = editor.post(KNOWLEDGE, {"file": upload})
    assert refused.status_code == 400
    assert "uploads may be at most" in json.dumps(refused.json()["file"])
    assert not KnowledgeDocument.objects.exists()


def test_the_admin_refuses_a_knowledge_file_over_the_limit(settings, editor):
    settings.OPTIQ_UPLOAD_MAX_BYTES = 1_000
    upload = SimpleUploadedFile("lenses.md", b"# Lenses\n\n" + b"Progressive lenses. " * 200)
    page = editor.post("/admin/assistant/knowledgedocument/add/", {"upload": upload, "title": "Lenses"})
    assert page.status_code == 200
    assert "uploads may be at most" in page.content.decode()
    assert not KnowledgeDocument.objects.exists()


def test_a_pdf_with_more_pages_than_the_limit_is_refused(settings, editor):
    settings.OPTIQ_PDF_MAX_PAGES = 3
    refused = editor.post(KNOWLEDGE, {"file": SimpleUploadedFile("long.pdf", _pdf(5), "application/pdf")})
    assert refused.status_code == 400
    assert "The PDF has 5 pages; at most 3 are extracted" in json.dumps(refused.json())
    assert not KnowledgeDocument.objects.exists()


def test_pdf_extraction_stops_at_its_time_limit(settings, editor):
    settings.OPTIQ_PDF_MAX_SECONDS = 0.0
    refused = editor.post(KNOWLEDGE, {"file": SimpleUploadedFile("slow.pdf", _pdf(20), "application/pdf")})
    assert refused.status_code == 400
    assert "Extracting the PDF's text took over 0 s" in json.dumps(refused.json())


def test_a_training_file_over_the_upload_limit_is_refused_and_nothing_imported(settings, editor, admin_as):
    settings.OPTIQ_UPLOAD_MAX_BYTES = 500
    line = json.dumps({"prompt": "What is a progressive lens?", "completion": "A lens with a power gradient."})
    content = ("\n".join([line] * 20)).encode()
    api = editor.post("/api/v1/training/examples/import/", {"file": SimpleUploadedFile("x.jsonl", content)})
    assert api.status_code == 400 and "uploads may be at most" in json.dumps(api.json())
    page = editor.post(
        "/admin/training_jobs/trainingexample/import/",
        {"file": SimpleUploadedFile("x.jsonl", content), "status": "draft"},
    )
    assert "uploads may be at most" in page.content.decode()
    assert not TrainingExample.objects.exists()
