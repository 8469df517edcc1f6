"""Knowledge retrieval, in one run on a private embedded PostgreSQL + pgvector:

1. The whole hybrid `knowledge_search` on 100,000 chunks in the real tables (1,000 documents of
   100 chunks): embedding the question, the HNSW vector half, the full-text half on the stored
   `search_vector` (GIN), fusion by rank and the per-document cap. Median and p95 latency over
   the real evaluation questions, and recall@10 against an exact scan of the same hybrid score
   (the same call with index scans off: the vector half becomes an exact scan). Each half is
   also timed alone, the full-text half against the natural baseline it replaced: the same
   query computing `to_tsvector` for every row.
2. Ingestion throughput: the shipped knowledge corpus through `knowledge_document_ingest`
   (parse, chunk, count tokens, store, embed, store vectors) against the embedding model's raw
   encode rate on the same chunk texts.

    .venv/bin/python benchmarks/retrieval.py [--rows 100000] [--queries 100] [--no-write]

Embedding 100,000 real texts would take over ten minutes here and the corpus has a few hundred
chunks, so the 100,000 rows are made from the real ones: each row takes the heading and text of a
real chunk of the shipped corpus (so the full-text half meets the real vocabulary, each text about
175 times) and a vector that is a noisy blend of two real chunk embeddings (so the vectors lie in
the model's own anisotropic space). The queries are the real evaluation questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, setup_django, teardown_django, write_section

sys.path.insert(0, str(ROOT))
from assistant.knowledge.retrieval import HNSW_EF_SEARCH

CORPUS = ROOT / "assistant" / "knowledge_corpus"
DOCUMENTS = 1000
# all-MiniLM-L6-v2 per word piece: 6 layers x (4 x 384^2 + 2 x 384 x 1536) multiply-adds, x 2.
MFLOP_PER_TOKEN = 6 * (4 * 384 * 384 + 2 * 384 * 1536) * 2 / 1e6
# The full-text half as it was before the stored column: to_tsvector computed for every row.
FULL_TEXT_BEFORE = """
    SELECT c.id FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id,
         to_tsquery('english', %s) q
    WHERE c.embedding IS NOT NULL AND NOT (d.source_type = ANY(%s))
      AND to_tsvector('english', d.title || ' ' || c.heading || ' ' || c.text) @@ q
    ORDER BY ts_rank_cd(to_tsvector('english', d.title || ' ' || c.heading || ' ' || c.text), q, 1) DESC
    LIMIT 30
"""
FULL_TEXT_NOW = """
    SELECT c.id FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id,
         to_tsquery('english', %s) q
    WHERE c.embedding IS NOT NULL AND NOT (d.source_type = ANY(%s)) AND c.search_vector @@ q
    ORDER BY ts_rank_cd(c.search_vector, q, 1) DESC
    LIMIT 30
"""
VECTOR_HALF = """
    SELECT c.id FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id
    WHERE c.embedding IS NOT NULL AND NOT (d.source_type = ANY(%s))
    ORDER BY c.embedding <=> %s::vector LIMIT 30
"""


def literal(vector: Any) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def corpus_drafts() -> tuple[list[tuple[str, str]], list[Any]]:
    """The shipped articles as (slug, content), and their chunks as ingestion cuts them."""
    from assistant.knowledge.chunking import chunk_document, parse_front_matter
    from assistant.llm.embeddings import count_tokens

    contents = [(f.stem, f.read_text(encoding="utf-8")) for f in sorted(CORPUS.glob("*.md"))]
    drafts = []
    for _, content in contents:
        parsed = parse_front_matter(content)
        drafts += chunk_document(parsed.body, title=parsed.title, count_tokens=count_tokens)
    return contents, drafts


def questions(limit: int) -> list[str]:
    lines = (ROOT / "assistant" / "eval" / "knowledge_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:limit]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def load_rows(rows: int) -> None:
    """`rows` chunks over DOCUMENTS documents: real headings and texts, blended real embeddings."""
    import numpy as np
    from django.db import connection

    from assistant.llm.embeddings import embed_texts
    from assistant.models import Chunk, KnowledgeDocument

    _, drafts = corpus_drafts()
    rng = np.random.default_rng(11)
    anchors = np.array(embed_texts([d.embedding_text for d in drafts]), dtype=np.float32)
    first = rng.integers(0, len(anchors), rows)
    second = rng.integers(0, len(anchors), rows)
    weight = rng.uniform(0.5, 1.0, size=(rows, 1)).astype(np.float32)
    points = weight * anchors[first] + (1 - weight) * anchors[second]
    points += 0.03 * rng.normal(size=(rows, 384)).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    Chunk.objects.all().delete()
    KnowledgeDocument.objects.all().delete()
    documents = KnowledgeDocument.objects.bulk_create(
        [
            KnowledgeDocument(slug=f"bench-{i}", title=f"Synthetic document {i}", content="", status="ready")
            for i in range(DOCUMENTS)
        ]
    )
    per_document = -(-rows // DOCUMENTS)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX chunk_embedding_hnsw")
        cursor.execute("DROP INDEX chunk_search_vector_gin")
        # The generated search_vector is computed by PostgreSQL as the rows arrive.
        with connection.connection.cursor().copy(
            "COPY assistant_chunk (document_id, position, heading, text, token_count, embedding) FROM STDIN"
        ) as copy:
            for index in range(rows):
                draft = drafts[first[index]]
                document = documents[index // per_document]
                copy.write_row(
                    [
                        document.pk,
                        index % per_document,
                        draft.heading,
                        draft.text,
                        draft.token_count,
                        literal(points[index]),
                    ]
                )
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "CREATE INDEX chunk_embedding_hnsw ON assistant_chunk USING hnsw (embedding vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("CREATE INDEX chunk_search_vector_gin ON assistant_chunk USING gin (search_vector)")
        cursor.execute("VACUUM ANALYZE assistant_chunk")
        cursor.execute("VACUUM ANALYZE assistant_knowledgedocument")


def measure_search(rows: int, n_queries: int, before_queries: int) -> dict[str, Any]:
    from django.db import connection

    from assistant.knowledge.retrieval import knowledge_search, or_tsquery
    from assistant.llm.embeddings import embed_texts

    started = time.perf_counter()
    load_rows(rows)
    load_s = time.perf_counter() - started
    probes = questions(n_queries)
    vectors = embed_texts(probes)
    excluded = ["product"]

    def timed(fn: Any) -> tuple[Any, float]:
        began = time.perf_counter()
        result = fn()
        return result, (time.perf_counter() - began) * 1000

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + VECTOR_HALF, [excluded, literal(vectors[0])])
        plan = " ".join(row[0] for row in cursor.fetchall())
        if "chunk_embedding_hnsw" not in plan:
            raise SystemExit(f"the vector half does not use the HNSW index: {plan}")
        # A rare term goes through the GIN index; a question of common words ("lens", "glasses")
        # matches most rows, and PostgreSQL rightly reads them in a parallel scan instead.
        cursor.execute("EXPLAIN " + FULL_TEXT_NOW, ["trivex", excluded])
        plan = " ".join(row[0] for row in cursor.fetchall())
        if "chunk_search_vector_gin" not in plan:
            raise SystemExit(f"a selective full-text query does not use the GIN index: {plan}")
        gin_plans = 0
        for question in probes:
            if or_tsquery(question):
                cursor.execute("EXPLAIN " + FULL_TEXT_NOW, [or_tsquery(question), excluded])
                gin_plans += "chunk_search_vector_gin" in " ".join(row[0] for row in cursor.fetchall())

    def sql_ms(sql: str, params: list[Any], *, ef: bool = False) -> float:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            if ef:
                cursor.execute(f"SET LOCAL hnsw.ef_search = {HNSW_EF_SEARCH}")
            began = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            elapsed = (time.perf_counter() - began) * 1000
            cursor.execute("COMMIT")
        return elapsed

    for question, vector in zip(probes[:3], vectors[:3], strict=True):  # warm the caches and plans
        knowledge_search(query=question, limit=10)
        knowledge_search(query=question, limit=10, query_vector=vector)
    whole, database, embedding, vector_ms, text_ms, found = [], [], [], [], [], []
    for question, vector in zip(probes, vectors, strict=True):
        _, ms = timed(lambda q=question: embed_texts([q]))
        embedding.append(ms)
        result, ms = timed(lambda q=question: knowledge_search(query=q, limit=10))
        whole.append(ms)
        found.append([c.chunk_id for c in result])
        _, ms = timed(lambda q=question, v=vector: knowledge_search(query=q, limit=10, query_vector=v))
        database.append(ms)
        vector_ms.append(sql_ms(VECTOR_HALF, [excluded, literal(vector)], ef=True))
        tsquery = or_tsquery(question)
        if tsquery:
            text_ms.append(sql_ms(FULL_TEXT_NOW, [tsquery, excluded]))
    before_ms = [sql_ms(FULL_TEXT_BEFORE, [or_tsquery(q), excluded]) for q in probes[:before_queries] if or_tsquery(q)]
    # The exact hybrid: the same calls with index scans off, so the vector half scans every row.
    exact, exact_ms, vector_exact_ms = [], [], []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_indexscan = off")
    try:
        for question, vector in zip(probes, vectors, strict=True):
            result, ms = timed(lambda q=question, v=vector: knowledge_search(query=q, limit=10, query_vector=v))
            exact.append([c.chunk_id for c in result])
            exact_ms.append(ms)
            vector_exact_ms.append(sql_ms(VECTOR_HALF, [excluded, literal(vector)]))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_indexscan")
    recalls = [len(set(a) & set(b)) / len(b) for a, b in zip(found, exact, strict=True) if b]
    return {
        "rows": rows,
        "documents": DOCUMENTS,
        "queries": len(probes),
        "load_s": load_s,
        "whole": whole,
        "database": database,
        "embedding": embedding,
        "vector": vector_ms,
        "vector_exact": vector_exact_ms,
        "text": text_ms,
        "text_before": before_ms,
        "exact": exact_ms,
        "recall": statistics.mean(recalls),
        "gin_plans": gin_plans,
    }


def measure_ingestion(repeats: int) -> dict[str, Any]:
    from assistant.knowledge.services import knowledge_document_ingest
    from assistant.llm.embeddings import ENCODE_BATCH, count_tokens, embed_texts, embedding_model
    from assistant.models import Chunk, KnowledgeDocument
    from llm_runtime.hardware import cpu_has_native_bf16

    contents, drafts = corpus_drafts()
    texts = [d.embedding_text for d in drafts]
    model = embedding_model()
    tokens = sum(count_tokens(texts))
    embed_texts(texts[:32])  # load and warm up

    raw, encoder, full = [], [], []
    for _ in range(repeats):
        # The model's own encode with its defaults (fp32, batches of 32).
        started = time.perf_counter()
        model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        raw.append(len(texts) / (time.perf_counter() - started))

        started = time.perf_counter()
        embed_texts(texts)
        encoder.append(len(texts) / (time.perf_counter() - started))

        KnowledgeDocument.objects.all().delete()
        started = time.perf_counter()
        for slug, content in contents:
            knowledge_document_ingest(content=content, slug=slug, embed="now")
        seconds = time.perf_counter() - started
        stored = Chunk.objects.filter(embedding__isnull=False).count()
        if stored != len(texts):
            raise SystemExit(f"ingestion stored {stored} embedded chunks, expected {len(texts)}")
        full.append(stored / seconds)
    return {
        "documents": len(contents),
        "chunks": len(texts),
        "tokens": tokens,
        "raw": statistics.median(raw),
        "encoder": statistics.median(encoder),
        "full": statistics.median(full),
        "batch": ENCODE_BATCH,
        "bf16": cpu_has_native_bf16(),
        "repeats": repeats,
    }


def render(search: dict[str, Any], ingestion: dict[str, Any], command: str) -> str:
    def row(label: str, values: list[float]) -> str:
        return f"| {label} | {statistics.median(values):.1f} | {p95(values):.1f} |"

    out = [
        "## Knowledge retrieval: the whole hybrid search at 100,000 chunks; ingestion against raw encoding",
        "",
        f"`{command}` — {search['rows']:,} chunks in the real `assistant_chunk` table over {search['documents']:,} "
        "documents, each row a real chunk's heading and text with a noisy blend of two real chunk embeddings (so the "
        "full-text half meets the corpus's own vocabulary and the vectors lie in the model's own space); the shipped "
        f"HNSW index (`m` 16, `ef_construction` 64, `ef_search` {HNSW_EF_SEARCH}) and the GIN index on the stored "
        f"`search_vector`, built after loading. {search['queries']} real evaluation questions; milliseconds. *Whole "
        "search*: `knowledge_search(query=…, limit=10)` as the assistant calls it: embed the question, the vector half "
        "(top 30 by cosine), the full-text half (top 30 by `ts_rank_cd` of the question's words, any of them), fusion "
        "by reciprocal rank and at most two chunks per document. *Exact hybrid*: the same call with index scans off, "
        "so the vector half scans every row; recall@10 is of the whole search against it. The full-text half is also "
        "timed against the query it replaced, which computed `to_tsvector` for every row "
        f"({len(search['text_before'])} questions).",
        "",
        "| step | median (ms) | p95 (ms) |",
        "| --- | ---: | ---: |",
        row("**whole `knowledge_search`** (as the assistant calls it)", search["whole"]),
        row("… of which embedding the question (all-MiniLM-L6-v2)", search["embedding"]),
        row("… the database part (`knowledge_search` given the question's vector)", search["database"]),
        row("vector half alone, HNSW", search["vector"]),
        row("full-text half alone, stored `search_vector` + GIN", search["text"]),
        row("full-text half as it was: `to_tsvector` on every row (baseline)", search["text_before"]),
        row("vector half alone, exact scan", search["vector_exact"]),
        row("exact hybrid (index scans off), database part", search["exact"]),
        "",
        f"Recall@10 of the whole search against the exact hybrid: **{search['recall']:.3f}**. PostgreSQL read the "
        f"full-text half through the GIN index for {search['gin_plans']} of the {search['queries']} questions; the "
        'others are made of words most chunks contain ("lens", "glasses"), which it reads faster by a parallel '
        "scan of the stored column. The stored, "
        f"GIN-indexed `search_vector` makes the full-text half {statistics.median(search['text_before']) / statistics.median(search['text']):.0f}× "
        f"faster than computing `to_tsvector` per row; the whole search is "
        f"{statistics.median(search['exact']) / statistics.median(search['database']):.1f}× faster than the exact hybrid "
        f"(database parts). Loading and indexing the {search['rows']:,} rows took {search['load_s']:.0f} s.",
    ]
    per_chunk_tokens = ingestion["tokens"] / ingestion["chunks"]
    gflop_per_chunk = per_chunk_tokens * MFLOP_PER_TOKEN / 1000
    encoder_gflops = ingestion["encoder"] * gflop_per_chunk
    precision = "bf16 autocast (this CPU has AVX512-BF16)" if ingestion["bf16"] else "fp32 (no native bf16 here)"
    out += [
        "",
        f"Ingestion: the {ingestion['documents']} shipped articles ({ingestion['chunks']} chunks, "
        f"{ingestion['tokens'] / ingestion['chunks']:.0f} word pieces on average) through "
        '`knowledge_document_ingest(embed="now")` (parse, chunk with token counts, store, embed, store the '
        f"vectors with progress after every 64), median of {ingestion['repeats']} runs. Baseline: the embedding "
        "model's own `SentenceTransformer.encode` with its defaults (fp32, batches of 32) on the same chunk texts. "
        f"OptiQ's encoder (`embed_texts`): {precision}, batches of {ingestion['batch']}. Target: at least 300 "
        "chunks/s.",
        "",
        "| path | chunks/s | × raw encode |",
        "| --- | ---: | ---: |",
        f"| raw encode (all-MiniLM-L6-v2, defaults) | {ingestion['raw']:.0f} | 1.00× |",
        f"| OptiQ's encoder alone | {ingestion['encoder']:.0f} | {ingestion['encoder'] / ingestion['raw']:.2f}× |",
        f"| full ingestion into PostgreSQL | {ingestion['full']:.0f} | {ingestion['full'] / ingestion['raw']:.2f}× |",
        "",
        f"Why not 300 chunks/s: the model costs {MFLOP_PER_TOKEN:.1f} MFLOP per word piece (six layers of "
        "384-wide attention projections and a 1,536-wide feed-forward), so a chunk of "
        f"{per_chunk_tokens:.0f} word pieces is {gflop_per_chunk:.2f} GFLOP and 300 chunks/s would take "
        f"{300 * gflop_per_chunk:.0f} GFLOP/s. OptiQ's encoder runs at {encoder_gflops:.0f} GFLOP/s on these two "
        f"cores (the fp32 encode: {ingestion['raw'] * gflop_per_chunk:.0f}), and ingestion also chunks with token "
        "counts and writes to the database on the same cores. Shorter chunks or more cores raise the chunk rate; "
        "the word-piece rate is the hardware's.",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--before-queries", type=int, default=20, help="questions timed on the old full-text query")
    parser.add_argument("--repeats", type=int, default=3, help="ingestion runs")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="optiq-bench-") as tmp:
        setup_django(Path(tmp))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        search = measure_search(args.rows, args.queries, args.before_queries)
        ingestion = measure_ingestion(args.repeats)
        teardown_django(Path(tmp))
    command = "python benchmarks/retrieval.py" + (f" --rows {args.rows}" if args.rows != 100_000 else "")
    section = render(search, ingestion, command)
    print(section)
    if not args.no_write:
        write_section("retrieval", section)


if __name__ == "__main__":
    main()
