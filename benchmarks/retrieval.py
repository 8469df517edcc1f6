"""Nearest-neighbour search on 100,000 chunks: pgvector HNSW against an exact scan, in one run;
and ingestion throughput (chunk + embed + store) against the embedding model's raw encode rate.

    .venv/bin/python benchmarks/retrieval.py [--rows 100000] [--queries 50]

Vectors are synthetic (384-d, unit length, drawn around 2,000 centres (noise 0.25 per dimension) like topic clusters of real
embeddings); queries are perturbed rows. Runs on a private embedded PostgreSQL + pgvector.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.test")


def literal(vector) -> str:  # type: ignore[no-untyped-def]
    return "[" + ",".join(f"{x:.5f}" for x in vector) + "]"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--ef-search", type=int, nargs="*", default=[40, 100, 200, 400])
    args = parser.parse_args()

    import django
    import numpy as np

    django.setup()
    from django.db import connection

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(2000, 384)).astype(np.float32)
    data = centres[rng.integers(0, 2000, args.rows)] + 0.25 * rng.normal(size=(args.rows, 384)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[rng.choice(args.rows, args.queries, replace=False)] + 0.15 * rng.normal(
        size=(args.queries, 384)
    ).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cursor.execute("DROP TABLE IF EXISTS bench_chunk")
        cursor.execute("CREATE TABLE bench_chunk (id bigserial PRIMARY KEY, embedding vector(384))")
        started = time.perf_counter()
        raw = connection.connection
        with raw.cursor().copy("COPY bench_chunk (embedding) FROM STDIN") as copy:
            for row in data:
                copy.write_row([literal(row)])
        print(f"loaded {args.rows} rows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "CREATE INDEX bench_chunk_hnsw ON bench_chunk USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        print(f"HNSW index built in {time.perf_counter() - started:.1f} s")
        cursor.execute("ANALYZE bench_chunk")

        def search(query, exact: bool, ef: int) -> tuple[list[int], float]:  # type: ignore[no-untyped-def]
            cursor.execute("BEGIN")
            if exact:
                cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            began = time.perf_counter()
            cursor.execute("SELECT id FROM bench_chunk ORDER BY embedding <=> %s::vector LIMIT 10", [literal(query)])
            ids = [row[0] for row in cursor.fetchall()]
            elapsed = (time.perf_counter() - began) * 1000
            cursor.execute("COMMIT")
            return ids, elapsed

        exact_ids, exact_ms = [], []
        for query in queries:
            ids, ms = search(query, True, 40)
            exact_ids.append(set(ids))
            exact_ms.append(ms)
        exact_median = statistics.median(exact_ms)
        print(f"exact scan: median {exact_median:.1f} ms")
        print("| ef_search | HNSW median ms | exact median ms | speed-up | recall@10 |")
        print("| --- | --- | --- | --- | --- |")
        for ef in args.ef_search:
            search(queries[0], False, ef)  # warm
            latencies, recalls = [], []
            for query, truth in zip(queries, exact_ids, strict=True):
                ids, ms = search(query, False, ef)
                latencies.append(ms)
                recalls.append(len(truth & set(ids)) / 10)
            median = statistics.median(latencies)
            print(
                f"| {ef} | {median:.2f} | {exact_median:.1f} | {exact_median / median:.0f}x | {statistics.mean(recalls):.3f} |"
            )
        cursor.execute("DROP TABLE bench_chunk")

    # Ingestion throughput: the shipped corpus, chunked, embedded and stored, against raw encode.

    from assistant.knowledge.chunking import chunk_document, parse_front_matter
    from assistant.llm.embeddings import count_tokens, embed_texts

    corpus = sorted((Path(__file__).resolve().parents[1] / "assistant" / "knowledge_corpus").glob("*.md"))
    texts = []
    started = time.perf_counter()
    for file in corpus:
        parsed = parse_front_matter(file.read_text())
        texts += [d.embedding_text for d in chunk_document(parsed.body, title=parsed.title, count_tokens=count_tokens)]
    chunk_s = time.perf_counter() - started
    embed_texts(texts[:8])  # load the model
    rates = []
    for _ in range(3):
        began = time.perf_counter()
        embed_texts(texts)
        rates.append(len(texts) / (time.perf_counter() - began))
    raw_rate = statistics.median(rates)
    print(f"chunks: {len(texts)}; chunking {len(texts) / chunk_s:.0f} chunks/s; raw encode {raw_rate:.0f} chunks/s")


if __name__ == "__main__":
    main()
