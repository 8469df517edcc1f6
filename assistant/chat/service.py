"""Answering a question in a thread: plan, then a data answer (assistant.chat.data_answers)
or a knowledge answer (assistant.chat.knowledge_answers), streamed as events and stored with
its sources. Patient identifiers are never logged: log lines carry message ids only.

Asynchronous end to end: the ASGI view iterates `answer_events` and each token reaches the
client as the worker produces it. Planning, tools, retrieval and the ORM are synchronous code;
they run through `database_sync_to_async` in the request's own thread, and each call hands its
database connection back to the pool when it returns, so that an answer waiting on the model
holds none.

How an answer ends, and what is stored:
- it completes: the message, `complete`; then `done`;
- the client goes away (the view's task is cancelled, or the stream closed): what was written so
  far, `stopped`;
- a failure (a worker lost mid-answer, an unexpected error in a route): what was written so far,
  `incomplete`, logged with the message id; then `error` and `done`;
- generation is unavailable before anything was sent (no inference worker, the broker down):
  the question is removed again and `Unavailable` raised, so the view can answer 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from assistant.chat.data_answers import plan_question, run_plan
from assistant.chat.drafts import AnswerEvent, Draft
from assistant.chat.knowledge_answers import knowledge_answer
from assistant.llm.errors import InferenceError, Unavailable
from assistant.models import AssistantMessage, AssistantThread
from assistant.tools.planner import Plan
from assistant.tools.toolset import ToolContext
from optiq_site.async_database import database_sync_to_async

logger = logging.getLogger(__name__)
FAILED_ANSWER = "Sorry, something went wrong while answering this question. The error was logged; please try again."


def thread_title_from(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"


def _active_chat_model() -> Any:
    try:
        from assistant.registry.selectors import active_model

        return active_model(role="chat")
    except Exception:  # no registry or no active model: the deterministic path still works
        return None


def _run_plan_atomically(plan: Plan, context: ToolContext, draft: Draft) -> None:
    with transaction.atomic():
        run_plan(plan, context, draft)


async def _route_events(
    *,
    thread: AssistantThread,
    user: Any,
    question: str,
    question_message: AssistantMessage,
    draft: Draft,
    ip: str | None,
    today: date,
    max_tokens: int,
    use_llm: bool,
) -> AsyncIterator[AnswerEvent]:
    version = await database_sync_to_async(_active_chat_model)() if use_llm else None
    plan = await database_sync_to_async(plan_question)(question, user=user, today=today, version=version, thread=thread)
    if plan.route in ("tools", "refusal", "clarify"):
        context = ToolContext(user=user, today=today, ip=ip, thread_id=thread.pk)
        await database_sync_to_async(_run_plan_atomically)(plan, context, draft)
        yield AnswerEvent("sources", draft.sources)
        yield AnswerEvent("token", draft.text)
    else:
        async for event in knowledge_answer(question, draft, max_tokens=max_tokens, version=version, use_llm=use_llm):
            yield event


async def answer_events(
    *,
    thread: AssistantThread,
    user: Any,
    question: str,
    ip: str | None = None,
    today: date | None = None,
    max_tokens: int = 160,
    use_llm: bool = True,
) -> AsyncIterator[AnswerEvent]:
    """Answer `question` in `thread`, yielding events; the last is "done" with the stored assistant message."""
    today = today or timezone.localdate()
    question_message = await AssistantMessage.objects.acreate(
        thread=thread, role=AssistantMessage.Role.USER, kind=AssistantMessage.Kind.QUESTION, content=question
    )
    draft = Draft()
    written: list[str] = []
    sent = False
    try:
        async for event in _route_events(
            thread=thread,
            user=user,
            question=question,
            question_message=question_message,
            draft=draft,
            ip=ip,
            today=today,
            max_tokens=max_tokens,
            use_llm=use_llm,
        ):
            if event.kind == "token":
                written.append(event.data)
            sent = True
            yield event
    except (asyncio.CancelledError, GeneratorExit):
        # The client went away: keep what was written, marked as stopped by the user.
        draft.text = "".join(written)
        message = await _astore(thread, question_message, draft, question, AssistantMessage.Status.STOPPED)
        logger.info("assistant: message %s stopped by the client after %d characters", message.pk, len(draft.text))
        raise
    except Exception as exc:
        if isinstance(exc, Unavailable) and not sent:
            await question_message.adelete()
            raise
        draft.text = "".join(written)
        if not draft.text.strip():
            draft.kind, draft.text = AssistantMessage.Kind.ERROR, FAILED_ANSWER
        message = await _astore(thread, question_message, draft, question, AssistantMessage.Status.INCOMPLETE)
        logger.exception("assistant: message %s cut short by %s", message.pk, type(exc).__name__)
        if isinstance(exc, InferenceError):
            yield AnswerEvent("error", {"message": f"The answer was cut short: {exc}", "code": exc.code})
        else:
            yield AnswerEvent("error", {"message": FAILED_ANSWER, "code": "answer_failed"})
        yield AnswerEvent("done", message)
        return
    message = await _astore(thread, question_message, draft, question, AssistantMessage.Status.COMPLETE)
    logger.info("assistant: answered message %s (%s, planner=%s)", message.pk, draft.kind, draft.planner)
    yield AnswerEvent("done", message)


@transaction.atomic
def _store(
    *, thread: AssistantThread, question_message: AssistantMessage, draft: Draft, question: str, status: str
) -> AssistantMessage:
    if draft.touched_patient_data:
        question_message.touched_patient_data = True
        question_message.save(update_fields=["touched_patient_data"])
    message = AssistantMessage.objects.create(
        thread=thread,
        role=AssistantMessage.Role.ASSISTANT,
        kind=draft.kind,
        status=status,
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


async def _astore(
    thread: AssistantThread, question_message: AssistantMessage, draft: Draft, question: str, status: str
) -> AssistantMessage:
    # Shielded: a second cancellation while the answer is being stored must not lose it.
    return await asyncio.shield(
        database_sync_to_async(_store)(
            thread=thread, question_message=question_message, draft=draft, question=question, status=status
        )
    )


async def aanswer_question(**kwargs: Any) -> AssistantMessage:
    """Run `answer_events` to the end and return the stored assistant message."""
    message = None
    async for event in answer_events(**kwargs):
        if event.kind == "done":
            message = event.data
    assert message is not None
    return message


def answer_question(**kwargs: Any) -> AssistantMessage:
    """`aanswer_question` from synchronous code (management commands, evaluation, tests)."""
    return async_to_sync(aanswer_question)(**kwargs)
