"""The knowledge base: documents (articles, uploads, catalogue products) cut into embedded chunks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from assistant.llm.embeddings import EMBEDDING_DIMENSIONS

__all__ = ["Chunk", "KnowledgeDocument"]


class KnowledgeDocument(models.Model):
    class SourceType(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        TEXT = "text", "Plain text"
        PDF = "pdf", "PDF"
        PRODUCT = "product", "Catalogue product"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be embedded"
        EMBEDDING = "embedding", "Embedding"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    slug = models.SlugField(max_length=200, unique=True)
    title = models.CharField(max_length=300)
    category = models.CharField(max_length=100, blank=True)
    source_type = models.CharField(max_length=20, choices=SourceType.choices, default=SourceType.MARKDOWN)
    source_name = models.CharField(max_length=500, blank=True, help_text="File name or origin of the text.")
    # Set for catalogue products, whose description is kept in sync with the product.
    product_id = models.BigIntegerField(null=True, blank=True, unique=True)
    content = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    embedded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    @property
    def progress(self) -> int:
        """Percentage of chunks embedded."""
        if self.chunks_total == 0:
            return 100 if self.status == self.Status.READY else 0
        return round(100 * self.chunks_done / self.chunks_total)


class Chunk(models.Model):
    document = models.ForeignKey(KnowledgeDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=500, blank=True, help_text="The section path the text sits under.")
    text = models.TextField()
    token_count = models.PositiveIntegerField(default=0)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    # Full text kept by PostgreSQL itself (a stored generated column, GIN-indexed), so a search
    # reads it instead of computing to_tsvector for every row. The heading path starts with the
    # document's title, so titles are searched too.
    search_vector = models.GeneratedField(
        expression=SearchVector("heading", "text", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="chunk_unique_position")]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(name="chunk_search_vector_gin", fields=["search_vector"]),
        ]

    def __str__(self) -> str:
        return f"{self.document.title} #{self.position}"
