"""Threads: who may see which, feedback, and turning feedback into a draft training example."""

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


@transaction.atomic
def feedback_training_example_create(*, feedback: AssistantFeedback, user: Any) -> Any:
    """A draft training example from feedback: the question, and the corrected answer (or the
    answer itself when it was rated helpful). Returns None when there is nothing to teach."""
    from training_jobs.services import training_example_create

    feedback = AssistantFeedback.objects.select_for_update().select_related("message").get(pk=feedback.pk)
    if feedback.training_example_id:
        return None
    answer = feedback.message
    completion = feedback.corrected_answer.strip() or (answer.content if feedback.rating > 0 else "")
    question = (
        AssistantMessage.objects.filter(thread_id=answer.thread_id, role=AssistantMessage.Role.USER, id__lt=answer.id)
        .order_by("-id")
        .first()
    )
    # Answers built from patient records never become training data.
    if not completion or question is None or answer.touched_patient_data:
        return None
    example = training_example_create(
        prompt=question.content,
        completion=completion,
        category=answer.kind,
        source="assistant_feedback",
        status="draft",
        created_by=user,
    )
    feedback.training_example_id = example.pk
    feedback.save(update_fields=["training_example_id"])
    return example
