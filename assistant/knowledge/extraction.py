"""Text out of uploaded files: plain text, Markdown and PDF."""

from __future__ import annotations

import io
import time
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError

SOURCE_TYPES_BY_SUFFIX = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".pdf": "pdf"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def source_type_for(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    try:
        return SOURCE_TYPES_BY_SUFFIX[suffix]
    except KeyError:
        raise ValidationError(
            {"file": f"Unsupported file type {suffix or '(none)'!r}: upload .md, .txt or .pdf."}
        ) from None


def extract_text(*, filename: str, data: bytes) -> tuple[str, str]:
    """(source type, text) of an uploaded file; a ValidationError names the problem."""
    source_type = source_type_for(filename)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."})
    if source_type == "pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(io.BytesIO(data))
            pages = _pdf_pages_text(reader)
        except (PdfReadError, ValueError, KeyError) as exc:
            raise ValidationError({"file": f"The PDF could not be read: {exc}"}) from exc
        text = "\n\n".join(page.strip() for page in pages if page.strip())
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": "Text files must be UTF-8 encoded."}) from None
    if not text.strip():
        raise ValidationError({"file": "The file contains no text to ingest."})
    return source_type, text


def _pdf_pages_text(reader: object) -> list[str]:
    """Each page's text, refused past OPTIQ_PDF_MAX_PAGES pages or OPTIQ_PDF_MAX_SECONDS (checked
    between pages): a crafted PDF must not hold a web process for minutes."""
    pages = reader.pages  # type: ignore[attr-defined]
    if len(pages) > settings.OPTIQ_PDF_MAX_PAGES:
        raise ValidationError(
            {"file": f"The PDF has {len(pages)} pages; at most {settings.OPTIQ_PDF_MAX_PAGES} are extracted."}
        )
    deadline = time.monotonic() + settings.OPTIQ_PDF_MAX_SECONDS
    texts = []
    for number, page in enumerate(pages, start=1):
        if time.monotonic() > deadline:
            raise ValidationError(
                {
                    "file": f"Extracting the PDF's text took over {settings.OPTIQ_PDF_MAX_SECONDS:g} s "
                    f"(stopped at page {number}); split it or upload its text."
                }
            )
        texts.append(page.extract_text() or "")
    return texts
