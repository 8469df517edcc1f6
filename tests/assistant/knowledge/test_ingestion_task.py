import pytest

from assistant.knowledge.extraction import extract_text
from assistant.knowledge.services import knowledge_document_ingest
from assistant.models import KnowledgeDocument


def test_embedding_runs_in_a_real_celery_worker_and_records_progress(celery_worker):
    result = knowledge_document_ingest(
        content="---\ntitle: Photochromic lenses\ncategory: coatings\n---\n# Photochromic lenses\n\nThey darken in UV light.",
        slug="photochromic-test",
        embed="task",
    )
    assert result.document.status == KnowledgeDocument.Status.PENDING
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document = KnowledgeDocument.objects.get(pk=result.document.pk)
        if document.status == KnowledgeDocument.Status.READY:
            break
        time.sleep(0.2)
    assert document.status == KnowledgeDocument.Status.READY
    assert document.progress == 100 and document.chunks_done == document.chunks_total == 1
    assert document.title == "Photochromic lenses" and document.category == "coatings"


def test_a_pdf_upload_is_read_and_an_unknown_type_is_refused_by_name():
    from io import BytesIO

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = BytesIO()
    writer.write(buffer)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as empty:
        extract_text(filename="blank.pdf", data=buffer.getvalue())
    assert "no text" in str(empty.value)
    with pytest.raises(ValidationError) as unknown:
        extract_text(filename="notes.docx", data=b"x")
    assert "file" in unknown.value.message_dict
    assert extract_text(filename="a.txt", data=b"Abbe value\n") == ("text", "Abbe value\n")
