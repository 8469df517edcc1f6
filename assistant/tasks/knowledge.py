"""Celery tasks for the knowledge base (default queue). Thin: load by id, call the service.

The services enqueue these by name (EMBED_TASK, PRODUCT_SYNC_TASK): only this module imports the
other, so there is no import cycle between the tasks and the services they call."""

from __future__ import annotations

from celery import shared_task

from assistant.knowledge.products import product_document_sync
from assistant.knowledge.services import EMBED_TASK, PRODUCT_SYNC_TASK, knowledge_document_embed


@shared_task(name=EMBED_TASK, soft_time_limit=600, time_limit=660)
def knowledge_document_embed_task(document_id: int) -> bool:
    return knowledge_document_embed(document_id=document_id)


@shared_task(name=PRODUCT_SYNC_TASK, soft_time_limit=120, time_limit=150)
def product_document_sync_task(product_id: int) -> str:
    return product_document_sync(product_id=product_id)
