"""Answering a question in a thread: plan, then a data answer (assistant.chat.data_answers)
or a knowledge answer (assistant.chat.knowledge_answers), streamed as events and stored with
its sources. Patient identifiers are never logged: log lines carry message ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from assistant.chat.data_answers import plan_question, run_plan
from assistant.chat.drafts import AnswerEvent, Draft
from assistant.chat.knowledge_answers import knowledge_answer
from assistant.models import AssistantMessage, AssistantThread
from assistant.tools.toolset import ToolContext

logger = logging.getLogger(__name__)


def thread_title_from(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"


def _active_chat_model() -> Any:
    try:
        from assistant.registry.selectors import active_model

        return active_model(role="chat")
    except Exception:  # no registry or no active model: the deterministic path still works
        return None


def answer_events(
    *,
    thread: AssistantThread,
    user: Any,
    question: str,
    ip: str | None = None,
    today: date | None = None,
    max_tokens: int = 160,
    use_llm: bool = True,
) -> Iterator[AnswerEvent]:
    """Answer `question` in `thread`, yielding events; the last is "done" with the stored assistant message."""
    today = today or timezone.localdate()
    question_message = AssistantMessage.objects.create(
        thread=thread, role=AssistantMessage.Role.USER, kind=AssistantMessage.Kind.QUESTION, content=question
    )
    version = _active_chat_model() if use_llm else None
    draft = Draft()
    plan = plan_question(question, user=user, today=today, version=version, thread=thread)
    if plan.route in ("tools", "refusal", "clarify"):
        context = ToolContext(user=user, today=today, ip=ip, thread_id=thread.pk)
        with transaction.atomic():
            run_plan(plan, context, draft)
        yield AnswerEvent("sources", draft.sources)
        yield AnswerEvent("token", draft.text)
    else:
        yield from knowledge_answer(question, draft, max_tokens=max_tokens, version=version, use_llm=use_llm)
    message = _store(thread=thread, question_message=question_message, draft=draft, question=question)
    logger.info("assistant: answered message %s (%s, planner=%s)", message.pk, draft.kind, draft.planner)
    yield AnswerEvent("done", message)


@transaction.atomic
def _store(
    *, thread: AssistantThread, question_message: AssistantMessage, draft: Draft, question: str
) -> AssistantMessage:
    if draft.touched_patient_data:
        question_message.touched_patient_data = True
        question_message.save(update_fields=["touched_patient_data"])
    message = AssistantMessage.objects.create(
        thread=thread,
        role=AssistantMessage.Role.ASSISTANT,
        kind=draft.kind,
        content=draft.text,
        sources=draft.sources,
        tool_calls=draft.tool_calls,
        touched_patient_data=draft.touched_patient_data,
        model_name=draft.model_name,
        planner=draft.planner,
        usage=draft.usage,
    )
    thread.touched_patient_data = thread.touched_patient_data or draft.touched_patient_data
    if not thread.title:
        thread.title = thread_title_from(question)
    thread.save(update_fields=["touched_patient_data", "title", "updated_at"])
    return message


def answer_question(**kwargs: Any) -> AssistantMessage:
    """Non-streaming: run `answer_events` to the end and return the stored assistant message."""
    message = None
    for event in answer_events(**kwargs):
        if event.kind == "done":
            message = event.data
    assert message is not None
    return message
