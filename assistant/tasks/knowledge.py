"""Celery tasks for this area."""
