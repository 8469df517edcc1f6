"""Errors of knowledge ingestion. Each is a Django ValidationError naming the field, so the
admin shows it on the form and the API answers 400 with the field (optiq_site.exception_handlers)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class KnowledgeDocumentInvalid(ValidationError):
    """A document that cannot be ingested as given (no slug, unreadable file, ...)."""
