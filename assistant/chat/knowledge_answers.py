"""Optics questions: retrieve from the knowledge base, let a model that follows instructions
answer in its own words through the grounding gate, then quote the best passage and cite the
articles. A base model is only quoted: the default 270M base model's free text is often wrong."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async

from assistant.chat.drafts import AnswerEvent, Draft
from assistant.chat.grounding import SentenceGate
from assistant.knowledge.retrieval import RetrievedChunk, knowledge_search
from assistant.llm.errors import InferenceError, Unavailable
from assistant.models import AssistantMessage

logger = logging.getLogger(__name__)
KNOWLEDGE_MIN_SCORE = 0.3
KNOWLEDGE_CHUNKS = 4
# A small model imitates the numbered reference layout or starts another question: stop there.
KNOWLEDGE_STOP = ["\n[", "\nQuestion:", "Reference text:"]
SYSTEM_PROMPT = (
    "You are OptiQ, the assistant of an optical practice. Answer the question in two or three "
    "sentences using only the reference text. If the reference text does not answer it, say so."
)


def answers_in_own_words(version: Any) -> bool:
    """Whether the model's own answer is worth showing: it follows instructions (its GGUF has a
    chat template, it was fine-tuned from a base, or it is an external instruct server)."""
    if version is None:
        return False
    return bool(version.backend == "external" or version.has_chat_template or version.lora_path or version.base_id)


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


async def knowledge_answer(
    question: str, draft: Draft, *, max_tokens: int, version: Any, use_llm: bool
) -> AsyncIterator[AnswerEvent]:
    own_words = use_llm and answers_in_own_words(version)
    if own_words:
        from assistant.llm.client import require_workers

        await require_workers(version)  # a 503 need not wait for the retrieval first
    found = await sync_to_async(knowledge_search)(query=question, limit=KNOWLEDGE_CHUNKS)
    chunks = [c for c in found if c.score >= KNOWLEDGE_MIN_SCORE]
    draft.kind = AssistantMessage.Kind.KNOWLEDGE
    draft.sources = [_chunk_source(c) for c in chunks]
    stream = None
    if chunks and own_words:
        from assistant.llm.client import achat_stream

        started = time.perf_counter()
        try:
            # Opened before the sources go out, so that a request the model cannot serve now
            # (no worker, the broker down: Unavailable) is still answered with a 503.
            stream = await achat_stream(
                messages=knowledge_prompt(question, chunks),
                model=getattr(version, "name", None),
                max_tokens=max_tokens,
                temperature=0.2,
                stop=KNOWLEDGE_STOP,
            )
        except Unavailable:
            raise
        except InferenceError as exc:  # the extract below still answers
            logger.warning("assistant: generation failed (%s); answering with the extract", type(exc).__name__)
            draft.usage["generation_error"] = type(exc).__name__
    yield AnswerEvent("sources", draft.sources)
    if not chunks:
        draft.text = "I couldn't find anything about that in the practice's knowledge base."
        yield AnswerEvent("token", draft.text)
        return
    generated = ""
    if stream is not None:
        gate = SentenceGate("\n".join(f"{c.title}\n{c.heading}\n{c.text}" for c in chunks))
        try:
            # The gate's sentences() loop, over an asynchronous stream.
            async for delta in stream:
                if delta.usage:
                    draft.usage = dict(delta.usage)
                for sentence in gate.feed(delta.text) if not delta.finish_reason else gate.close():
                    piece = (" " if generated else "") + sentence
                    generated += piece
                    yield AnswerEvent("token", piece)
                if gate.full:
                    break
            draft.usage["seconds"] = round(time.perf_counter() - started, 3)
            draft.usage["sentences_dropped"] = gate.dropped
            draft.model_name = getattr(version, "name", "") or ""
        except InferenceError as exc:
            if generated:
                raise  # words already shown: the answer is cut short, and says so
            logger.warning("assistant: generation failed (%s); answering with the extract", type(exc).__name__)
            draft.usage["generation_error"] = type(exc).__name__
        finally:
            await stream.aclose()  # early, once enough is said: that stops the generation
    # The best passage is quoted under the generated text, with the article cited: the answer
    # is grounded even when the model says little or nothing.
    extract = f"From “{chunks[0].title}”: {chunks[0].passage()}"
    tail = ("\n\n" if generated.strip() else "") + extract + "\n\n" + citation_text(chunks)
    yield AnswerEvent("token", tail)
    draft.text = generated.strip() + tail if generated.strip() else tail
