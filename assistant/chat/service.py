"""Answering a question in a thread.

Data questions: the answer's figure sentences are composed from the tool results alone and
quoted verbatim (a small base model cannot be trusted with numbers); the tool results are
the sources. Knowledge questions: the best passage is quoted and its article cited; a model
that follows instructions (a chat template, a fine-tuned adapter, an external instruct server)
first answers in its own words from the retrieved chunks. A base model is only quoted: the
default 270M base model's free text is often wrong. Patient identifiers are never logged: log
lines carry message ids only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from assistant.chat.grounding import SentenceGate
from assistant.knowledge.retrieval import RetrievedChunk, knowledge_search
from assistant.models import AssistantMessage, AssistantThread
from assistant.tools import practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.planner import Plan, PlannedCall, native_tool_prompt, parse_tool_calls, plan_deterministic
from assistant.tools.registry import TOOLS, ToolContext, ToolError, ToolPermissionDenied, ToolResult

logger = logging.getLogger(__name__)
KNOWLEDGE_MIN_SCORE = 0.3
KNOWLEDGE_CHUNKS = 4
# A small model imitates the numbered reference layout or starts another question: stop there.
KNOWLEDGE_STOP = ["\n[", "\nQuestion:", "Reference text:"]
SYSTEM_PROMPT = (
    "You are OptiQ, the assistant of an optical practice. Answer the question in two or three "
    "sentences using only the reference text. If the reference text does not answer it, say so."
)


@dataclass
class AnswerEvent:
    """One event of an answer: "sources" (list), "token" (str), "done" (the stored message)."""

    kind: str
    data: Any


@dataclass
class _Draft:
    kind: str = AssistantMessage.Kind.KNOWLEDGE
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    touched_patient_data: bool = False
    model_name: str = ""
    planner: str = ""
    usage: dict[str, Any] = field(default_factory=dict)


def thread_title_from(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"


def _active_chat_model() -> Any:
    try:
        from assistant.registry.selectors import active_model

        return active_model(role="chat")
    except Exception:  # no registry or no active model: the deterministic path still works
        return None


def supports_native_tools(version: Any) -> bool:
    """Models whose own chat template takes tools (Llama 3.1 Instruct and later) choose tools themselves."""
    if version is None or not getattr(version, "has_chat_template", False):
        return False
    label = f"{getattr(version, 'chat_format', '')} {getattr(version, 'name', '')}".lower()
    return any(family in label for family in ("llama-3.1", "llama-3.2", "llama-3.3", "llama3.1", "llama-3"))


def answers_in_own_words(version: Any) -> bool:
    """Whether the model's own answer is worth showing: it follows instructions (its GGUF has a
    chat template, it was fine-tuned from a base, or it is an external instruct server)."""
    if version is None:
        return False
    return bool(version.backend == "external" or version.has_chat_template or version.lora_path or version.base_id)


def _plan_native(question: str, *, user: Any, today: date, version: Any) -> Plan:
    from assistant.llm.client import chat_complete

    allowed = [tool for tool in TOOLS.values() if tool.allowed(user)]
    result = chat_complete(
        messages=[
            {"role": "system", "content": native_tool_prompt(allowed, today)},
            {"role": "user", "content": question},
        ],
        model=version.name,
        max_tokens=200,
        temperature=0.0,
    )
    calls = parse_tool_calls(result.text)
    if not calls:
        # The model chose no tool; data it may not see is still refused by the deterministic rules.
        fallback = plan_deterministic(question, user=user, today=today)
        if fallback.route == "refusal":
            return fallback
        return Plan(route="knowledge", planner="native")
    for call in calls:
        if call.name in TOOLS and not TOOLS[call.name].allowed(user):
            return Plan(route="refusal", refusal=TOOLS[call.name].refusal, calls=calls, planner="native")
    return Plan(route="tools", calls=calls, planner="native")


def _run_tools(calls: list[PlannedCall], context: ToolContext, draft: _Draft) -> None:
    texts: list[str] = []
    for call in calls:
        tool = TOOLS[call.name]
        try:
            result: ToolResult = tool.call(context, call.arguments)
        except ToolPermissionDenied as denied:
            draft.kind = AssistantMessage.Kind.REFUSAL
            draft.text = str(denied)
            draft.sources, draft.tool_calls = [], []
            return
        except ToolError as error:
            draft.tool_calls.append({"name": call.name, "arguments": call.arguments, "error": str(error)})
            texts.append(f"I couldn't run that query: {error}")
            continue
        draft.tool_calls.append({"name": result.tool, "arguments": result.arguments})
        draft.sources.append(result.source())
        draft.sources.extend(result.extra_sources)
        draft.touched_patient_data |= result.touched_patient_data or tool.touches_patient_data
        texts.append(result.text)
    draft.kind = AssistantMessage.Kind.DATA
    draft.text = "\n\n".join(texts)


def _chunk_source(chunk: RetrievedChunk) -> dict[str, Any]:
    kind = "product" if chunk.source_type == "product" else "knowledge_chunk"
    return {
        "kind": kind,
        "id": chunk.product_id if kind == "product" else chunk.chunk_id,
        "title": chunk.title,
        "snippet": chunk.snippet(),
        "score": chunk.score,
        "document": chunk.slug,
        "heading": chunk.heading,
    }


def knowledge_prompt(question: str, chunks: list[RetrievedChunk]) -> list[dict[str, str]]:
    reference = "\n\n".join(f"[{i}] {c.heading or c.title}\n{c.text}" for i, c in enumerate(chunks, 1))
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Reference text:\n{reference}\n\nQuestion: {question}"},
    ]


def citation_text(chunks: list[RetrievedChunk]) -> str:
    titles: list[str] = []
    for chunk in chunks:
        if chunk.title not in titles:
            titles.append(chunk.title)
    return "Sources: " + "; ".join(f"[{i}] {title}" for i, title in enumerate(titles, 1))


def _knowledge_answer(
    question: str, draft: _Draft, *, max_tokens: int, version: Any, use_llm: bool
) -> Iterator[AnswerEvent]:
    chunks = [c for c in knowledge_search(query=question, limit=KNOWLEDGE_CHUNKS) if c.score >= KNOWLEDGE_MIN_SCORE]
    draft.kind = AssistantMessage.Kind.KNOWLEDGE
    draft.sources = [_chunk_source(c) for c in chunks]
    yield AnswerEvent("sources", draft.sources)
    if not chunks:
        draft.text = "I couldn't find anything about that in the practice's knowledge base."
        yield AnswerEvent("token", draft.text)
        return
    generated = ""
    if use_llm and answers_in_own_words(version):
        gate = SentenceGate("\n".join(f"{c.title}\n{c.heading}\n{c.text}" for c in chunks))
        try:
            from assistant.llm.client import chat_stream

            started = time.perf_counter()
            stream = chat_stream(
                messages=knowledge_prompt(question, chunks),
                model=getattr(version, "name", None),
                max_tokens=max_tokens,
                temperature=0.2,
                stop=KNOWLEDGE_STOP,
            )

            def texts() -> Iterator[str]:
                for delta in stream:
                    if delta.usage:
                        draft.usage = dict(delta.usage)
                    yield delta.text

            try:
                for sentence in gate.sentences(texts()):
                    piece = (" " if generated else "") + sentence
                    generated += piece
                    yield AnswerEvent("token", piece)
            finally:
                stream.close()  # early, once enough is said: that stops the generation
            draft.usage["seconds"] = round(time.perf_counter() - started, 3)
            draft.usage["sentences_dropped"] = gate.dropped
            draft.model_name = getattr(version, "name", "") or ""
        except Exception as exc:  # the extract below still answers
            logger.warning("assistant: generation failed (%s); answering with the extract", type(exc).__name__)
            draft.usage["generation_error"] = type(exc).__name__
    # The best passage is quoted under the generated text, with the article cited: the answer
    # is grounded even when the model says little or nothing.
    extract = f"From “{chunks[0].title}”: {chunks[0].passage()}"
    tail = ("\n\n" if generated.strip() else "") + extract + "\n\n" + citation_text(chunks)
    yield AnswerEvent("token", tail)
    draft.text = generated.strip() + tail if generated.strip() else tail


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
    native = supports_native_tools(version)
    draft = _Draft(planner="native" if native else "deterministic")
    try:
        plan = (
            _plan_native(question, user=user, today=today, version=version)
            if native
            else plan_deterministic(question, user=user, today=today)
        )
    except Exception as exc:
        logger.warning("assistant: native planning failed (%s); using the deterministic planner", type(exc).__name__)
        plan = plan_deterministic(question, user=user, today=today)
    draft.planner = plan.planner
    if plan.route == "refusal":
        draft.kind = AssistantMessage.Kind.REFUSAL
        draft.text = plan.refusal
        yield AnswerEvent("sources", [])
        yield AnswerEvent("token", draft.text)
    elif plan.route == "tools":
        context = ToolContext(
            user=user, today=today, ip=ip, thread_id=thread.pk, message_id=question_message.pk, question=question
        )
        with transaction.atomic():
            _run_tools(plan.calls, context, draft)
        yield AnswerEvent("sources", draft.sources)
        yield AnswerEvent("token", draft.text)
    else:
        yield from _knowledge_answer(question, draft, max_tokens=max_tokens, version=version, use_llm=use_llm)
    message = _store(thread=thread, question_message=question_message, draft=draft, question=question)
    logger.info("assistant: answered message %s (%s, planner=%s)", message.pk, draft.kind, draft.planner)
    yield AnswerEvent("done", message)


@transaction.atomic
def _store(
    *, thread: AssistantThread, question_message: AssistantMessage, draft: _Draft, question: str
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
