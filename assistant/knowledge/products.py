"""Catalogue products as knowledge documents, so "a thin lens for a strong prescription" finds
the products that fit. Kept in sync by a post_save/post_delete hook that enqueues a task."""

from __future__ import annotations

from typing import Any

from django.apps import apps

from assistant.knowledge.services import PRODUCT_SYNC_TASK, enqueue_on_commit, knowledge_document_ingest
from assistant.models import KnowledgeDocument

PRODUCT_FIELDS = (
    "category",
    "brand",
    "model",
    "colour",
    "frame_size",
    "lens_type",
    "lens_material",
    "lens_index",
    "supplier",
)


def product_model() -> Any:
    try:
        return apps.get_model("practice", "Product")
    except LookupError:
        return None


def _display(product: Any, field: str) -> str:
    value = getattr(product, field, None)
    if value in (None, ""):
        return ""
    getter = getattr(product, f"get_{field}_display", None)
    if callable(getter):
        return str(getter())
    return str(getattr(value, "name", value))


def product_name(product: Any) -> str:
    return " ".join(str(part) for part in (product.brand, product.model, getattr(product, "colour", "")) if part)


def product_document_text(product: Any) -> str:
    lines = [f"{product_name(product)} (SKU {product.sku})"]
    for field in PRODUCT_FIELDS:
        value = _display(product, field)
        if value:
            lines.append(f"{field.replace('_', ' ').capitalize()}: {value}")
    coatings = getattr(product, "coatings", None) or []
    if coatings:
        lines.append("Coatings: " + ", ".join(c.replace("_", " ") for c in coatings))
    description = getattr(product, "description", "") or ""
    if description:
        lines.append(description)
    return "\n".join(lines)


def product_document_sync(*, product_id: int, embed: str = "now") -> str:
    """Create, update or remove the knowledge document of one product; returns what it did."""
    model = product_model()
    product = model.objects.filter(pk=product_id).first() if model else None
    if product is None or getattr(product, "is_active", True) is False:
        deleted, _ = KnowledgeDocument.objects.filter(product_id=product_id).delete()
        return "removed" if deleted else "absent"
    result = knowledge_document_ingest(
        content=product_document_text(product),
        slug=f"product-{product.pk}",
        title=f"{product_name(product)} ({product.sku})",
        category="product",
        source_type=KnowledgeDocument.SourceType.PRODUCT,
        source_name=product.sku,
        product_id=product.pk,
        embed=embed,
    )
    return "updated" if result.changed else "unchanged"


def product_documents_sync_all(*, embed: str = "now") -> int:
    """Sync every product and drop documents of products that are gone; returns how many changed."""
    model = product_model()
    if model is None:
        return 0
    ids = list(model.objects.values_list("pk", flat=True))
    changed = sum(product_document_sync(product_id=pk, embed=embed) in {"updated", "removed"} for pk in ids)
    changed += KnowledgeDocument.objects.filter(product_id__isnull=False).exclude(product_id__in=ids).delete()[0]
    return changed


def _enqueue_sync(sender: Any, instance: Any, **kwargs: Any) -> None:
    enqueue_on_commit(PRODUCT_SYNC_TASK, instance.pk)


def connect_product_sync() -> None:
    """Called from AssistantConfig.ready(): a product save or delete re-embeds its description."""
    from django.db.models.signals import post_delete, post_save

    model = product_model()
    if model is None:
        return
    post_save.connect(_enqueue_sync, sender=model, dispatch_uid="assistant_product_sync_save")
    post_delete.connect(_enqueue_sync, sender=model, dispatch_uid="assistant_product_sync_delete")
