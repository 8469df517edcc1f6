"""Reads from the knowledge base: hybrid search (pgvector HNSW + PostgreSQL full text, fused by rank)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from assistant.knowledge.lay_terms import with_article_terms
from assistant.knowledge.sentences import plain
from assistant.llm.embeddings import embed_texts

RRF_K = 60
# Candidates the HNSW search keeps (pgvector's default is 40). 160 gives recall@10 of about 0.97
# against an exact scan on 100,000 chunks in this model's embedding space, at about 1.3 ms
# (benchmarks/retrieval.py); 80 gave 0.91.
HNSW_EF_SEARCH = 160
WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: int
    document_id: int
    position: int
    slug: str
    title: str
    heading: str
    text: str
    source_type: str
    product_id: int | None
    score: float

    def snippet(self, length: int = 240) -> str:
        """The chunk's opening as plain text (shown under an answer: no Markdown bold markers)."""
        text = plain(self.text)
        return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"

    def passage(self, length: int = 600) -> str:
        """The chunk's text up to `length` characters, cut after a whole sentence where one ends."""
        text = " ".join(self.text.split())
        if len(text) <= length:
            return text
        head = text[:length]
        end = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
        return head[: end + 1] if end > length // 3 else self.snippet(length)


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def or_tsquery(question: str) -> str:
    """A to_tsquery string that matches any of the question's words (plainto_tsquery would need all)."""
    words = {w.replace(".", "") if not re.fullmatch(r"\d+\.\d+", w) else w for w in WORD.findall(question.lower())}
    # "1.6" as the articles write it too: "1.60" is one token of the full text, and "1.6" another.
    words |= {f"{w}0" for w in words if re.fullmatch(r"\d+\.\d", w)}
    return " | ".join(sorted(w for w in words if len(w) > 1))


def knowledge_search(
    *,
    query: str,
    limit: int = 5,
    source_types: Sequence[str] | None = None,
    exclude_source_types: Sequence[str] | None = ("product",),
    candidates: int = 30,
    per_document: int = 2,
    query_vector: Sequence[float] | None = None,
) -> list[RetrievedChunk]:
    """The best chunks for `query`, at most `per_document` from one document (`query_vector`:
    the query's embedding, when the caller has it already).

    Two rankings are fused by reciprocal rank (1 / (60 + rank)): cosine similarity through
    the HNSW index, and full-text rank, which rescues exact terms ("1.74", "Trivex") that a
    small embedding model blurs. `score` is the cosine similarity of the chunk (0..1).
    """
    query = query.strip()
    if not query:
        return []
    # Patients' words for the articles' terms ("half-moon" for a bifocal segment) join the query.
    query = with_article_terms(query)
    vector = list(query_vector) if query_vector is not None else embed_texts([query])[0]
    literal = vector_literal(vector)
    filters = ["c.embedding IS NOT NULL"]
    params: list[Any] = []
    if source_types:
        filters.append("d.source_type = ANY(%s)")
        params.append(list(source_types))
    if exclude_source_types:
        filters.append("NOT (d.source_type = ANY(%s))")
        params.append(list(exclude_source_types))
    where = " AND ".join(filters)
    rows: dict[int, dict[str, object]] = {}
    fused: dict[int, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(HNSW_EF_SEARCH, candidates)])
        cursor.execute(
            f"""
            SELECT c.id, c.document_id, c.position, d.slug, d.title, c.heading, c.text, d.source_type, d.product_id,
                   1 - (c.embedding <=> %s::vector) AS similarity
            FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id
            WHERE {where}
            ORDER BY c.embedding <=> %s::vector
            LIMIT %s
            """,
            [literal, *params, literal, candidates],
        )
        for rank, row in enumerate(cursor.fetchall()):
            rows[row[0]] = _row(row)
            fused[row[0]] = fused.get(row[0], 0.0) + 1.0 / (RRF_K + rank + 1)
        tsquery = or_tsquery(query)
        if tsquery:
            cursor.execute(
                f"""
                SELECT c.id, c.document_id, c.position, d.slug, d.title, c.heading, c.text, d.source_type, d.product_id,
                       1 - (c.embedding <=> %s::vector) AS similarity
                FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id,
                     to_tsquery('english', %s) q
                WHERE {where} AND c.search_vector @@ q
                ORDER BY ts_rank_cd(c.search_vector, q, 1) DESC
                LIMIT %s
                """,
                [literal, tsquery, *params, candidates],
            )
            for rank, row in enumerate(cursor.fetchall()):
                rows.setdefault(row[0], _row(row))
                fused[row[0]] = fused.get(row[0], 0.0) + 1.0 / (RRF_K + rank + 1)
    results: list[RetrievedChunk] = []
    taken: dict[int, int] = {}
    for chunk_id in sorted(fused, key=lambda cid: fused[cid], reverse=True):
        row = rows[chunk_id]
        document_id = int(row["document_id"])  # type: ignore[call-overload]
        if taken.get(document_id, 0) >= per_document:
            continue
        taken[document_id] = taken.get(document_id, 0) + 1
        results.append(RetrievedChunk(**row))  # type: ignore[arg-type]
        if len(results) == limit:
            break
    return results


def _row(row: Sequence[object]) -> dict[str, object]:
    return {
        "chunk_id": row[0],
        "document_id": row[1],
        "position": row[2],
        "slug": row[3],
        "title": row[4],
        "heading": row[5],
        "text": row[6],
        "source_type": row[7],
        "product_id": row[8],
        "score": round(float(row[9]), 4),  # type: ignore[arg-type]
    }


def document_chunks(*, document_ids: Sequence[int], query_vector: Sequence[float]) -> list[RetrievedChunk]:
    """Every chunk of the given documents in document order, scored by cosine similarity to `query_vector`."""
    if not document_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id, c.document_id, c.position, d.slug, d.title, c.heading, c.text, d.source_type, d.product_id,
                   COALESCE(1 - (c.embedding <=> %s::vector), 0)
            FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id
            WHERE c.document_id = ANY(%s)
            ORDER BY c.document_id, c.position
            """,
            [vector_literal(query_vector), list(document_ids)],
        )
        return [RetrievedChunk(**_row(row)) for row in cursor.fetchall()]  # type: ignore[arg-type]
