"""Celery tasks for the knowledge base (default queue). Thin: load by id, call the service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="assistant.tasks.knowledge.knowledge_document_embed", soft_time_limit=600, time_limit=660)
def knowledge_document_embed_task(document_id: int) -> bool:
    from assistant.knowledge.services import knowledge_document_embed

    return knowledge_document_embed(document_id=document_id)


@shared_task(name="assistant.tasks.knowledge.product_document_sync", soft_time_limit=120, time_limit=150)
def product_document_sync_task(product_id: int) -> str:
    from assistant.knowledge.products import product_document_sync

    return product_document_sync(product_id=product_id)
