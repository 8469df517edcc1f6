"""Writes to the knowledge base: ingesting documents and embedding their chunks."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from assistant.knowledge.chunking import CHUNKING_VERSION, chunk_document, parse_front_matter
from assistant.knowledge.errors import KnowledgeDocumentInvalid
from assistant.knowledge.privacy import document_privacy_check
from assistant.llm.embeddings import count_tokens, embed_texts
from assistant.models import Chunk, KnowledgeDocument

logger = logging.getLogger(__name__)
EMBED_BATCH = 64
# Celery task names: the tasks import this module, so it enqueues them by name and never imports them.
EMBED_TASK = "assistant.tasks.knowledge.knowledge_document_embed"
PRODUCT_SYNC_TASK = "assistant.tasks.knowledge.product_document_sync"


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)))


@dataclass(frozen=True)
class IngestResult:
    document: KnowledgeDocument
    changed: bool


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def knowledge_document_ingest(
    *,
    content: str,
    slug: str = "",
    title: str = "",
    category: str = "",
    source_type: str = KnowledgeDocument.SourceType.MARKDOWN,
    source_name: str = "",
    product_id: int | None = None,
    created_by: Any = None,
    embed: str = "task",
    replace_existing: bool = True,
) -> IngestResult:
    """Create or update a document and cut it into chunks; unchanged content is left alone.

    A document naming one of the practice's patients is refused (assistant.knowledge.privacy).
    With `replace_existing` False (a user without the change permission), a document whose slug
    is taken is refused rather than written over.

    A changed document's chunks are replaced. `embed` is "task" (a Celery task on commit),
    "now" (in this process, used by the management command) or "none".
    """
    parsed = parse_front_matter(content, default_title=title) if source_type == "markdown" else None
    title = title or (parsed.title if parsed else "") or slug
    category = category or (parsed.category if parsed else "")
    slug = slugify(slug or title)[:200]
    if not slug:
        raise KnowledgeDocumentInvalid({"slug": "A document needs a slug or a title to derive one from."})
    # An article is re-cut when the chunking changes; a product's short description cuts the same
    # way under every version, and re-embedding the whole catalogue for it would cost minutes.
    chunking = "" if source_type == "product" else f"\nchunking {CHUNKING_VERSION}"
    digest = content_hash(f"{title}\n{category}\n{content}{chunking}")
    lookup = {"product_id": product_id} if product_id is not None else {"slug": slug}
    document = KnowledgeDocument.objects.select_for_update().filter(**lookup).first()
    if document is not None and not replace_existing:
        raise KnowledgeDocumentInvalid(
            {
                "slug": f"A document with the slug {slug!r} exists; replacing it needs the permission to change documents."
            }
        )
    if document and document.content_hash == digest and document.status != KnowledgeDocument.Status.FAILED:
        return IngestResult(document=document, changed=False)
    document_privacy_check(text=f"{title}\n{content}", user=created_by)
    if document is None:
        document = KnowledgeDocument(**lookup, created_by=created_by)
    document.slug = slug
    document.title = title
    document.category = category
    document.source_type = source_type
    document.source_name = source_name
    document.content = content
    document.content_hash = digest
    document.status = KnowledgeDocument.Status.PENDING
    document.error = ""
    document.embedded_at = None
    body = parsed.body if parsed else content
    drafts = chunk_document(body, title=title, count_tokens=count_tokens)
    document.chunks_total = len(drafts)
    document.chunks_done = 0
    document.save()
    document.chunks.all().delete()
    Chunk.objects.bulk_create(
        [
            Chunk(document=document, position=d.position, heading=d.heading, text=d.text, token_count=d.token_count)
            for d in drafts
        ]
    )
    if embed == "now":
        knowledge_document_embed(document_id=document.pk)
        document.refresh_from_db()
    elif embed == "task":
        enqueue_on_commit(EMBED_TASK, document.pk)
    return IngestResult(document=document, changed=True)


def knowledge_document_embed(*, document_id: int) -> bool:
    """Embed a document's chunks in batches, recording progress on the document after each.

    Safe to run twice: a run claims the document by moving it from pending/failed (or a run
    that died mid-way: embedding) to embedding, and only chunks without a vector are embedded.
    Returns False when the document is gone or already ready.
    """
    claimed = KnowledgeDocument.objects.filter(
        pk=document_id,
        status__in=[
            KnowledgeDocument.Status.PENDING,
            KnowledgeDocument.Status.FAILED,
            KnowledgeDocument.Status.EMBEDDING,
        ],
    ).update(status=KnowledgeDocument.Status.EMBEDDING, error="")
    if not claimed:
        return False
    try:
        chunks = list(Chunk.objects.filter(document_id=document_id, embedding__isnull=True).select_related("document"))
        done = Chunk.objects.filter(document_id=document_id, embedding__isnull=False).count()
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            vectors = embed_texts([chunk_embedding_text(chunk) for chunk in batch])
            for chunk, vector in zip(batch, vectors, strict=True):
                chunk.embedding = vector
            with transaction.atomic():
                Chunk.objects.bulk_update(batch, ["embedding"])
                done += len(batch)
                KnowledgeDocument.objects.filter(pk=document_id).update(chunks_done=done)
    except Exception as exc:
        KnowledgeDocument.objects.filter(pk=document_id).update(
            status=KnowledgeDocument.Status.FAILED, error=f"{type(exc).__name__}: {exc}"
        )
        raise
    KnowledgeDocument.objects.filter(pk=document_id).update(
        status=KnowledgeDocument.Status.READY, chunks_done=done, embedded_at=timezone.now()
    )
    return True


def chunk_embedding_text(chunk: Chunk) -> str:
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text
