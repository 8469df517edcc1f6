"""Threads: who may see which, and feedback on answers (which `training_jobs` turns into draft training examples).

A conversation is its owner's alone (superusers included). Feedback is the exception that
training needs: those who make training examples review everyone's feedback, but read a
question and its answer only when it touched no patient data and used no tool whose
permissions the reviewer lacks (a manager's cost-price answer stays the manager's)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread

PATIENT_PERMISSION = "practice.view_patient"
REVIEWER_PERMISSION = "training_jobs.add_trainingexample"


def threads_visible_to(user: Any) -> QuerySet[AssistantThread]:
    """The user's own threads; those that touched patient data only while the user may see patients."""
    threads = AssistantThread.objects.filter(user=user)
    if not user.has_perm(PATIENT_PERMISSION):
        threads = threads.filter(touched_patient_data=False)
    return threads


def messages_visible_to(user: Any) -> QuerySet[AssistantMessage]:
    """The messages of the user's own visible threads."""
    return AssistantMessage.objects.filter(thread__in=threads_visible_to(user))


def feedback_visible_to(user: Any) -> QuerySet[AssistantFeedback]:
    """The user's own feedback; everyone's for those who review it into training examples
    (whose question and answer they read only where `answer_hidden_from` says nothing)."""
    feedback = AssistantFeedback.objects.select_related("message", "message__thread", "user")
    if user.has_perm(REVIEWER_PERMISSION):
        return feedback
    return feedback.filter(user=user)


def answer_permissions_needed(message: AssistantMessage) -> set[str]:
    """The permissions the tools behind an answer ran with: reading the answer needs them all.
    An unknown tool needs a permission nobody has, so its answer stays hidden."""
    from assistant.tools import practice_tools  # noqa: F401  (registers the tools)
    from assistant.tools.toolset import TOOLS, ToolError

    needed: set[str] = set()
    for call in message.tool_calls or []:
        tool = TOOLS.get(str(call.get("name", "")))
        if tool is None:
            needed.add(f"unknown tool {call.get('name')!r}")
            continue
        try:
            arguments = tool.validate(call.get("arguments") or {})
        except ToolError:
            needed.add(f"unreadable arguments of {tool.name}")
            continue
        needed.update(tool.permissions_for(arguments))
    return needed


def answer_hidden_from(message: AssistantMessage, user: Any) -> str:
    """Why `user` may not read this answer and its question ("" when they may): its asker
    always may; anyone else not when it touched patient data or used data they may not see."""
    if message.thread.user_id == user.pk:
        return ""
    if message.touched_patient_data or message.thread.touched_patient_data:
        return "it touched patient data"
    missing = sorted(p for p in answer_permissions_needed(message) if not user.has_perm(p))
    if missing:
        return "it used practice data you may not see (" + ", ".join(missing) + ")"
    return ""


def question_for(answer: AssistantMessage) -> AssistantMessage | None:
    """The user's question an assistant message answers."""
    return (
        AssistantMessage.objects.filter(thread_id=answer.thread_id, role=AssistantMessage.Role.USER, id__lt=answer.id)
        .order_by("-id")
        .first()
    )


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
