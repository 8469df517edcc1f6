"""A question's embedding turned toward the sentences that answer it.

all-MiniLM-L6-v2 places a question close to sentences that share its words and topic; the
sentence that answers it is often not the closest ("How do I flip a plus cyl script?" is nearer
the sentences about cylinders than the one that says how to transpose). The articles' own
question-and-answer items ("**Can I sleep in my lenses?** Only lenses approved for …") show
what answers what, in this knowledge base's words. From them a linear map is learnt:

    answer direction = normalise(q + W q)

trained so that each item's question, mapped, is closer to its own answer than to every other
unit of its article (a softmax over them, temperature 0.05, with W kept small by an L2 penalty
and starting at zero, so the map begins as the identity). Only the question side is mapped: the
units' and the chunks' stored embeddings stay as they are, nothing is re-embedded.

The quoting scores each unit by its similarity to the answer direction as well as to the
question itself (assistant.knowledge.quoting). No evaluation question is used to train the map:
only the corpus's items. `manage.py train_answer_adapter` retrains it after the articles change;
the file records a digest of the pairs it was trained on, and a test fails when that is stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.knowledge.chunking import chunk_document, parse_front_matter
from assistant.knowledge.sentences import ANSWERED_QUESTION, passage_units, stated
from assistant.llm.embeddings import EMBEDDING_DIMENSIONS, count_tokens, embed_texts

ADAPTER_FILE = Path(__file__).with_name("answer_adapter.npz")
CORPUS_DIR = Path(__file__).resolve().parents[1] / "knowledge_corpus"


@dataclass(frozen=True)
class AnswerPair:
    """An item's question, its answer as the quoting reads it (under its section's name), and
    the other units of its article, read the same way: what the answer must beat."""

    question: str
    answer: str
    others: tuple[str, ...]


def article_pairs(text: str, *, title: str) -> list[AnswerPair]:
    """The question-and-answer items of one article, cut as ingestion cuts it."""
    parsed = parse_front_matter(text, default_title=title)
    units: list[tuple[str, str, str]] = []  # (unit in context, its section, its text)
    seen: set[str] = set()
    for draft in chunk_document(parsed.body, title=parsed.title, count_tokens=count_tokens):
        section = draft.heading.rsplit(" > ", 1)[-1]
        for unit in passage_units(draft.text):
            if unit.text not in seen:  # consecutive chunks overlap
                seen.add(unit.text)
                units.append((f"{section}: {unit.text}", section, unit.text))
    pairs: list[AnswerPair] = []
    for at, (_, section, text) in enumerate(units):
        asked = ANSWERED_QUESTION.match(text)
        if not asked:
            continue
        others = tuple(c for i, (c, _, _) in enumerate(units) if i != at)
        if others:
            pairs.append(AnswerPair(question=asked.group(1), answer=f"{section}: {stated(text)}", others=others))
    return pairs


def corpus_pairs(folder: Path = CORPUS_DIR) -> list[AnswerPair]:
    return [
        pair
        for path in sorted(folder.glob("*.md"))
        for pair in article_pairs(path.read_text(encoding="utf-8"), title=path.stem)
    ]


def pairs_digest(pairs: Iterable[AnswerPair]) -> str:
    payload = json.dumps([[p.question, p.answer, list(p.others)] for p in pairs], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def adapter_train(
    pairs: Sequence[AnswerPair],
    *,
    epochs: int = 10,
    temperature: float = 0.05,
    penalty: float = 1e-2,
    learning_rate: float = 1e-3,
    batch: int = 32,
    seed: int = 0,
) -> np.ndarray:
    """W (dimensions x dimensions) such that normalise(q + W q) ranks each pair's answer first."""
    import torch

    if not pairs:
        raise ValueError("no question-and-answer items to learn from")
    texts = sorted({t for p in pairs for t in (p.question, p.answer, *p.others)})
    index = {t: i for i, t in enumerate(texts)}
    vectors = torch.tensor(np.asarray(embed_texts(texts, batch_size=32), dtype=np.float32))
    examples = [(index[p.question], torch.tensor([index[p.answer], *(index[o] for o in p.others)])) for p in pairs]
    generator = torch.Generator().manual_seed(seed)
    weights = torch.zeros(EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS, requires_grad=True)
    optimiser = torch.optim.Adam([weights], lr=learning_rate)
    for _ in range(epochs):
        order = torch.randperm(len(examples), generator=generator).tolist()
        for start in range(0, len(order), batch):
            loss = torch.zeros(())
            taken = order[start : start + batch]
            for at in taken:
                question, candidates = examples[at]
                q = vectors[question]
                mapped = q + weights @ q
                logits = vectors[candidates] @ (mapped / mapped.norm()) / temperature
                loss = loss + torch.logsumexp(logits, 0) - logits[0]  # the answer is candidate 0
            loss = loss / len(taken) + penalty * (weights**2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return weights.detach().numpy()


def adapter_save(matrix: np.ndarray, *, digest: str, path: Path = ADAPTER_FILE) -> None:
    # float16 halves the file; the quotes chosen are the same (benchmarks/RESULTS.md).
    np.savez_compressed(path, weights=matrix.astype(np.float16), digest=np.array(digest))
    adapter.cache_clear()


@lru_cache(maxsize=1)
def adapter(path: Path = ADAPTER_FILE) -> tuple[np.ndarray, str] | None:
    """The trained map and the digest of its pairs; None when no map has been trained."""
    if not path.exists():
        return None
    with np.load(path) as stored:
        return stored["weights"].astype(np.float32), str(stored["digest"])


_off = threading.local()


@contextlib.contextmanager
def without_adapter() -> Iterator[None]:
    """Quote as if no map were trained (the evaluation's baseline, measured in the same run)."""
    _off.active = True
    try:
        yield
    finally:
        _off.active = False


def answer_direction(vector: Sequence[float]) -> list[float]:
    """The question's embedding mapped toward its answers (unit length); unchanged without a map."""
    trained = None if getattr(_off, "active", False) else adapter()
    if trained is None:
        return list(vector)
    q = np.asarray(vector, dtype=np.float32)
    mapped = q + trained[0] @ q
    return (mapped / np.linalg.norm(mapped)).tolist()
