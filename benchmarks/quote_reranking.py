"""The default model reading the best sentences before one is quoted: what it adds to the key fact
in the answer on the evaluation's development split, and what it costs per question, against the
quote chosen without it in the same run (on a private embedded PostgreSQL + pgvector with the
shipped corpus ingested).

    .venv/bin/python benchmarks/quote_reranking.py [--questions 40] [--threads 2] [--no-write]

The model (Gemma 3 270M through llama-cpp-python, loaded once) reads the best `rerank` units by
the other features, each after the question and after no question
(assistant.knowledge.quoting.likelihood_pairs); the units' unasked likelihoods are the same for
every question and are kept, as a long-running process keeps them, so the added time is the
asked half. Only the development split is used: the held-out split is not tuned on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import setup_django, teardown_django, write_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=0, help="the first N development questions (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="optiq-rerank-") as tmp:
        setup_django(Path(tmp), name="optiq_rerank")
        try:
            section = run(questions=args.questions, threads=args.threads)
        finally:
            teardown_django(Path(tmp))
    print(section)
    if not args.no_write:
        write_section("quote_reranking", section)


def run(*, questions: int, threads: int) -> str:
    from django.core.management import call_command

    from assistant.chat.knowledge_answers import knowledge_reply
    from assistant.eval.knowledge import key_fact_in, knowledge_questions
    from assistant.knowledge.quoting import WEIGHTS
    from assistant.llm.default_model import ensure_default_model
    from llm_runtime.continuation_likelihood import ContinuationScorer
    from llm_runtime.llama_loader import load_llama

    call_command("migrate", verbosity=0)
    call_command("ingest_knowledge", "--no-products", verbosity=0)
    llm = load_llama(model_path=str(ensure_default_model()), n_ctx=512, n_threads=threads, verbose=False)
    scorer = ContinuationScorer(llm, n_threads=threads)
    items = [q for q in knowledge_questions(split="dev") if q.covered]
    items = items[:questions] if questions else items
    plain_found = reranked_found = 0
    plain_ms: list[float] = []
    added_ms: list[float] = []
    for item in items:
        started = time.perf_counter()
        plain = knowledge_reply(item.question)
        plain_ms.append((time.perf_counter() - started) * 1000)
        # The unasked half first, as a process that has answered before holds it.
        scorer.log_likelihoods(_unasked(item.question))
        started = time.perf_counter()
        reranked = knowledge_reply(item.question, likelihoods=scorer.log_likelihoods)
        added_ms.append((time.perf_counter() - started) * 1000 - plain_ms[-1])
        plain_found += plain.quote is not None and key_fact_in(item.key, " ".join(plain.quote.sentences))
        reranked_found += reranked.quote is not None and key_fact_in(item.key, " ".join(reranked.quote.sentences))
    n = len(items)
    return "\n".join(
        [
            "## Quoting: the default model reading the best sentences first",
            "",
            f"`.venv/bin/python benchmarks/quote_reranking.py{f' --questions {questions}' if questions else ''}"
            f" --threads {threads}`: {n} answerable development questions, Gemma 3 270M Q4_K_M reading the best "
            f"{WEIGHTS.rerank} units (llama-cpp-python, {threads} threads), weight {WEIGHTS.likelihood}.",
            "",
            "| quote chosen | key fact in the quote | median ms per question | p90 ms |",
            "| --- | ---: | ---: | ---: |",
            f"| without the model (the assistant's) | {plain_found / n:.3f} | {statistics.median(plain_ms):.0f} | "
            f"{_p90(plain_ms):.0f} |",
            f"| the model reads the best units first | {reranked_found / n:.3f} | "
            f"+{statistics.median(added_ms):.0f} (added) | +{_p90(added_ms):.0f} |",
        ]
    )


def _unasked(question: str) -> list[tuple[str, str]]:
    """The question-free half of the pairs the reranked quote asks for (computed and kept before timing)."""
    from assistant.chat.knowledge_answers import KNOWLEDGE_CHUNKS, KNOWLEDGE_MIN_SCORE
    from assistant.knowledge.quoting import UNASKED, likelihood_pairs, rerank_candidates, score_units
    from assistant.knowledge.retrieval import knowledge_search

    chunks = [c for c in knowledge_search(query=question, limit=KNOWLEDGE_CHUNKS) if c.score >= KNOWLEDGE_MIN_SCORE]
    candidates = rerank_candidates(score_units(question, chunks), question=question)
    return [pair for pair in likelihood_pairs(question, candidates) if pair[0] == UNASKED]


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


if __name__ == "__main__":
    main()
