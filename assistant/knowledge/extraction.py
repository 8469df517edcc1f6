"""Text out of uploaded files: plain text, Markdown and PDF."""

from __future__ import annotations

import io
from pathlib import PurePath

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
            pages = [page.extract_text() or "" for page in reader.pages]
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
