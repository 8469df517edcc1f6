"""Optics questions: retrieve from the knowledge base, let a model that follows instructions
answer in its own words through the grounding gate, then quote the sentences that answer the
question (assistant.knowledge.quoting) and cite the articles. A base model is only quoted: the
default 270M base model's free text is often wrong. When the sources do not answer the question,
the reply says so and names the nearest articles instead of quoting something that looks like an
answer."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from assistant.chat.drafts import AnswerEvent, Draft
from assistant.chat.grounding import SentenceGate
from assistant.knowledge.lay_terms import with_article_terms
from assistant.knowledge.quoting import Likelihoods, Quote, quote_for
from assistant.knowledge.retrieval import RetrievedChunk, knowledge_search
from assistant.llm.errors import InferenceError, Unavailable
from assistant.models import AssistantMessage
from optiq_site.async_database import database_sync_to_async

logger = logging.getLogger(__name__)
KNOWLEDGE_MIN_SCORE = 0.3
KNOWLEDGE_CHUNKS = 4
NOT_COVERED = "The knowledge base doesn't cover that."
# A small model imitates the numbered reference layout or starts another question: stop there.
KNOWLEDGE_STOP = ["\n[", "\nQuestion:", "Reference text:"]
# Seeded: the same question over the same sources gets the same answer.
KNOWLEDGE_SEED = 0
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


def _titles(chunks: list[RetrievedChunk]) -> list[str]:
    titles: list[str] = []
    for chunk in chunks:
        if chunk.title not in titles:
            titles.append(chunk.title)
    return titles


def citation_text(chunks: list[RetrievedChunk]) -> str:
    return "Sources: " + "; ".join(f"[{i}] {title}" for i, title in enumerate(_titles(chunks), 1))


@dataclass(frozen=True)
class KnowledgeReply:
    """What the knowledge base has for a question: the chunks worth citing, the nearest ones
    whatever their score, and the quote (None when the sources do not answer it)."""

    question: str
    chunks: list[RetrievedChunk]
    nearest: list[RetrievedChunk]
    quote: Quote | None

    @property
    def cited(self) -> list[RetrievedChunk]:
        """The chunks the answer cites: the quoted one first (its passage is one click away in
        the sources), then the others the search found; the nearest ones when nothing is quoted."""
        if self.quote is None:
            return self.nearest
        quoted = self.quote.chunk
        return [quoted, *(c for c in self.chunks if c.chunk_id != quoted.chunk_id)]

    def gate(self) -> SentenceGate:
        """The grounding gate for a model's own words: the quoted article's chunks are its sources.
        A true sentence of another article found by the search can be wrong for this question
        (a spectacle lens's care under a contact lens question), so it does not count as support."""
        article = self.quote.chunk.title if self.quote is not None else None
        grounds = [c for c in self.cited if article is None or c.title == article]
        return SentenceGate([f"{c.heading or c.title}\n\n{c.text}" for c in grounds], question=self.question)

    def tail(self, *, after_own_words: bool) -> str:
        """The quote and the citations (or "not covered" and the nearest articles)."""
        if self.quote is None:
            nearest = _titles(self.nearest)[:3]
            text = NOT_COVERED + (
                " The nearest articles: " + "; ".join(f"“{t}”" for t in nearest) + "." if nearest else ""
            )
            return text
        return ("\n\n" if after_own_words else "") + self.quote.text() + "\n\n" + citation_text(self.cited)


def knowledge_reply(question: str, *, likelihoods: Likelihoods | None = None) -> KnowledgeReply:
    """`likelihoods`: a model that reads the best sentences before one is chosen (an option the
    evaluation measures, benchmarks/quote_reranking.py; the assistant quotes without it)."""
    nearest = knowledge_search(query=question, limit=KNOWLEDGE_CHUNKS)
    chunks = [c for c in nearest if c.score >= KNOWLEDGE_MIN_SCORE]
    quote = quote_for(with_article_terms(question), chunks, likelihoods=likelihoods)
    return KnowledgeReply(question=question, chunks=chunks, nearest=nearest, quote=quote)


async def knowledge_answer(
    question: str, draft: Draft, *, max_tokens: int, version: Any, use_llm: bool
) -> AsyncIterator[AnswerEvent]:
    own_words = use_llm and answers_in_own_words(version)
    if own_words:
        from assistant.llm.client import require_workers

        await require_workers(version)  # a 503 need not wait for the retrieval first
    reply = await database_sync_to_async(knowledge_reply)(question)
    draft.kind = AssistantMessage.Kind.KNOWLEDGE
    draft.sources = [_chunk_source(c) for c in reply.cited]
    stream = None
    if reply.quote is not None and own_words:
        from assistant.llm.client import achat_stream

        started = time.perf_counter()
        try:
            # Opened before the sources go out, so that a request the model cannot serve now
            # (no worker, the broker down: Unavailable) is still answered with a 503.
            stream = await achat_stream(
                messages=knowledge_prompt(question, reply.chunks),
                model=getattr(version, "name", None),
                max_tokens=max_tokens,
                temperature=0.2,
                stop=KNOWLEDGE_STOP,
                seed=KNOWLEDGE_SEED,
            )
        except Unavailable:
            raise
        except InferenceError as exc:  # the quote below still answers
            logger.warning("assistant: generation failed (%s); answering with the quote", type(exc).__name__)
            draft.usage["generation_error"] = type(exc).__name__
    yield AnswerEvent("sources", draft.sources)
    if reply.quote is None:
        draft.text = reply.tail(after_own_words=False)
        yield AnswerEvent("token", draft.text)
        return
    generated = ""
    if stream is not None:
        gate = reply.gate()
        # The gate embeds each finished sentence: off the event loop.
        feed = sync_to_async(gate.feed, thread_sensitive=False)
        close = sync_to_async(gate.close, thread_sensitive=False)
        try:
            async for delta in stream:
                if delta.usage:
                    draft.usage = dict(delta.usage)
                for sentence in await (feed(delta.text) if not delta.finish_reason else close()):
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
            logger.warning("assistant: generation failed (%s); answering with the quote", type(exc).__name__)
            draft.usage["generation_error"] = type(exc).__name__
        finally:
            await stream.aclose()  # early, once enough is said: that stops the generation
    # The sentences that answer are quoted under the generated text, with the article cited:
    # the answer is grounded even when the model says little or nothing.
    tail = reply.tail(after_own_words=bool(generated.strip()))
    yield AnswerEvent("token", tail)
    draft.text = generated.strip() + tail
