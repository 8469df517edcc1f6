"""Retrieval evaluation: recall@k of the shipped knowledge questions (the answering article is known)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.knowledge.retrieval import knowledge_search

QUESTIONS_FILE = Path(__file__).with_name("knowledge_questions.jsonl")


@dataclass
class RecallReport:
    k: int
    total: int = 0
    hits: int = 0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.hits / self.total if self.total else 0.0


def knowledge_questions() -> list[dict[str, str]]:
    with QUESTIONS_FILE.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def retrieval_recall(*, k: int = 5) -> RecallReport:
    """A question is a hit when a chunk of its article is among the top `k` results."""
    report = RecallReport(k=k)
    for item in knowledge_questions():
        found = [chunk.slug for chunk in knowledge_search(query=item["question"], limit=k)]
        report.total += 1
        if item["article"] in found:
            report.hits += 1
        else:
            report.misses.append((item["question"], item["article"], found))
    return report
