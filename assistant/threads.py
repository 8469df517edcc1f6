"""Threads: who may see which, and feedback on answers (which `training_jobs` turns into draft
training examples)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread

PATIENT_PERMISSION = "practice.view_patient"


def threads_visible_to(user: Any) -> QuerySet[AssistantThread]:
    """The user's own threads; those that touched patient data only while the user may see patients."""
    threads = AssistantThread.objects.filter(user=user)
    if not user.has_perm(PATIENT_PERMISSION):
        threads = threads.filter(touched_patient_data=False)
    return threads


@transaction.atomic
def feedback_record(
    *, message: AssistantMessage, user: Any, rating: int, corrected_answer: str = "", comment: str = ""
) -> AssistantFeedback:
    """One feedback per user and message: a second one replaces the first."""
    feedback, _ = AssistantFeedback.objects.update_or_create(
        message=message,
        user=user,
        defaults={"rating": rating, "corrected_answer": corrected_answer, "comment": comment},
    )
    return feedback
