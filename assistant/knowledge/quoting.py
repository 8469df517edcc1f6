"""Choosing what to quote: the one to three sentences of the retrieved articles that answer the question.

The articles of the chunks the hybrid search found are read whole (the answer is often a section
away from the chunk that matched), cut into sentences, list items and table rows, and each unit
is scored against the question by

- meaning: cosine similarity of the question's embedding (all-MiniLM-L6-v2) to the unit's, the
  unit read under its section's name ("Pantoscopic tilt: A typical range is about 8-12 degrees."),
  mostly through the question's answer direction: its embedding mapped toward the sentences that
  answer it, a map learnt from the articles' own question-and-answer items
  (assistant.knowledge.answer_adapter),
- the heading it sits under: the same similarity for its section's name,
- where the search put it: the rank of its article, and whether its own chunk was found,
- the question's terms it holds (and those only its heading or its article's title holds),
  each weighted by its rarity in the knowledge base (inverse document frequency over all units):
  "20-20-20" or "scratch-proof" in a unit says more than "lens",
- the kind of answer the question asks for: an amount, a time or a frequency ("how often", "how
  long"), a definition ("what is"), a cause ("why"), a step to take ("how do I").

Optionally a language model then reads the best few units (`rerank` of them): each unit's score
gains how much the question raises the model's likelihood of the unit (log p(unit | question) -
log p(unit), standardised over the candidates). With the default Gemma 3 270M this did not pay
for its cost (benchmarks/quote_reranking.py, benchmarks/RESULTS.md), so the assistant quotes
without it; the evaluation can measure it (`eval_assistant --rerank`).

The best unit is quoted with the unit after it in its section (or before it, at a section's end),
and with other units of the same article that score almost as well, whole and in their order,
under the article's title. When no unit is close enough in meaning (similarity, heading and rank
alone, `covered_score`), the sources do not answer the question and nothing is quoted.

The weights were tuned by a random search over them, first on the development split of the
evaluation questions (assistant/eval/knowledge.py), then with the answer direction on the
development split and the first two held-out splits, the third held-out split watched as a check
and the fourth never answered before they were fixed. PostgreSQL's full-text rank of each
unit was tried as a further feature and left out: it did not raise the key fact found on that split.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db import connection

from assistant.knowledge.answer_adapter import answer_direction
from assistant.knowledge.retrieval import RetrievedChunk, document_chunks
from assistant.knowledge.sentences import ANSWERED_QUESTION, STOPWORDS, TextUnit, passage_units
from assistant.llm.embeddings import embed_texts

MAX_UNITS = 3
# For (context, continuation) pairs, the summed log-probability of each continuation after its
# context and its token count: llm_runtime.continuation_likelihood, in a worker or in this process.
Likelihoods = Callable[[Sequence[tuple[str, str]]], Sequence[tuple[float, int]]]


@dataclass(frozen=True)
class QuoteWeights:
    """How the features add up to a unit's score (tuned on the development questions only)."""

    heading: float = 0.25
    prior: float = 0.23
    retrieved: float = 0.28
    quantity: float = 0.1
    lead_in: float = 0.2
    # The question's terms the unit holds, weighted by their rarity in the knowledge base.
    terms: float = 0.88
    # ... and those only its section's name or its article's title holds.
    heading_terms: float = 0.27
    # A unit of the kind the question asks for: a definition, a cause, a step to take.
    definition: float = 0.18
    cause: float = 0.1
    step: float = 0.1
    # An item's question as close to the one asked (the embedding model was trained on pairs of
    # questions that ask the same thing, so question to question is its strongest signal).
    question_match: float = 0.4
    # The share of the meaning score that is similarity to the question's answer direction
    # (assistant.knowledge.answer_adapter), the rest similarity to the question itself.
    answer: float = 0.9
    # The best unit is quoted with up to this many units around it in its section.
    window: int = 2
    # Another unit of the article joins the quote when its score is at least this share of the best one's.
    companion_ratio: float = 0.4
    # Below this best meaning score (similarity, heading and rank alone, as first tuned) the
    # sources are taken not to answer the question: the terms a question shares with an article
    # say little about whether the article answers it. 0.83 is the highest that turned away no
    # answered question of the tuning splits, with a margin (the lowest answered scored 0.845);
    # it turns away 35 of their 59 unanswerable questions, where 0.8 turned away 29.
    covered_score: float = 0.83
    covered_heading: float = 0.15
    covered_prior: float = 0.2
    covered_retrieved: float = 0.1
    # When a model reads the best units (an option: benchmarks/quote_reranking.py), how many it
    # reads and the weight of how much the question raises their likelihood (standardised).
    rerank: int = 12
    likelihood: float = 0.1


WEIGHTS = QuoteWeights()


@dataclass
class ScoredUnit:
    chunk: RetrievedChunk
    index: int  # position among its chunk's units
    unit: TextUnit
    document_rank: int  # rank of its article among those the search found
    retrieved: bool  # its chunk was one the search returned
    semantic: float = 0.0
    # Similarity to the question's answer direction (assistant.knowledge.answer_adapter).
    answer: float = 0.0
    heading: float = 0.0
    terms: float = 0.0  # IDF-weighted share of the question's terms in the unit
    heading_terms: float = 0.0  # ... found only in its section's name or article's title
    # For an item that asks a question and answers it: how close its question is to the one asked.
    question_match: float = 0.0
    # log p(unit | question) - log p(unit) under the chat model, in nats (None: not read by it).
    likelihood: float | None = None
    score: float = 0.0


@dataclass(frozen=True)
class Quote:
    chunk: RetrievedChunk  # the chunk of the best unit: its article is the one quoted
    units: list[ScoredUnit] = field(default_factory=list)
    score: float = 0.0

    @property
    def sentences(self) -> list[str]:
        return [scored.unit.text for scored in self.units]

    def text(self) -> str:
        """The quoted units under the article's title: sentences run on, list items and table rows
        one a line."""
        head = f"From “{self.chunk.title}”:"
        if all(scored.unit.kind == "sentence" for scored in self.units):
            return head + " " + " ".join(self.sentences)
        lines = [s if u.unit.kind == "sentence" else f"- {s}" for s, u in zip(self.sentences, self.units, strict=True)]
        return head + "\n" + "\n".join(lines)


def section(heading: str) -> str:
    """The last part of a heading path ("Progressive lenses > Corridor length" -> "Corridor length")."""
    return heading.rsplit(" > ", 1)[-1]


def in_context(chunk: RetrievedChunk, unit: TextUnit) -> str:
    """A unit as it reads in its article: under its section's name ("Pantoscopic tilt: A typical
    range is about 8-12 degrees.")."""
    return f"{section(chunk.heading)}: {unit.text}"


class _UnitCache:
    """Units and their embeddings (read in context) per chunk: a chunk's id and text never change
    together, and embedding the units is most of the cost of quoting."""

    def __init__(self, size: int = 8192) -> None:
        self._items: OrderedDict[
            tuple[int, int], tuple[list[TextUnit], list[list[float]], list[list[float] | None]]
        ] = OrderedDict()
        self._size = size
        self._headings: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def headings(self, names: Sequence[str]) -> list[list[float]]:
        """Embeddings of section names (cached: there are a few hundred)."""
        with self._lock:
            missing = [n for n in names if n not in self._headings]
        if missing:
            fresh = embed_texts(missing, batch_size=32)
            with self._lock:
                self._headings.update(zip(missing, fresh, strict=True))
        with self._lock:
            return [self._headings[n] for n in names]

    def get_many(
        self, chunks: Sequence[RetrievedChunk]
    ) -> list[tuple[list[TextUnit], list[list[float]], list[list[float] | None]]]:
        """Each chunk's units, their embeddings (read in context), and the embeddings of the
        questions the question-and-answer items ask (None for other units)."""
        keys = [(chunk.chunk_id, hash(chunk.text)) for chunk in chunks]
        with self._lock:
            missing = [(k, c) for k, c in zip(keys, chunks, strict=True) if k not in self._items]
        if missing:
            parsed = [(k, c, passage_units(c.text)) for k, c in missing]
            asked = [
                [m.group(1) if (m := ANSWERED_QUESTION.match(u.text)) else None for u in units] for *_, units in parsed
            ]
            texts = [in_context(c, u) for _, c, units in parsed for u in units]
            vectors = (
                iter(embed_texts(texts + [q for qs in asked for q in qs if q], batch_size=32)) if texts else iter([])
            )
            own = [[next(vectors) for _ in units] for *_, units in parsed]  # the units' first, then the questions'
            with self._lock:
                for (key, _, units), unit_vectors, questions in zip(parsed, own, asked, strict=True):
                    self._items[key] = (units, unit_vectors, [next(vectors) if q else None for q in questions])
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            for key in keys:
                self._items.move_to_end(key)
            return [self._items[key] for key in keys]


_units = _UnitCache()


# Words, and figures whole ("20-20-20", "1.67", "-3.00/-1.00").
TERM = re.compile(r"[a-z0-9]+(?:[-./][a-z0-9]+)*")


def terms(text: str) -> set[str]:
    """A text's terms: content words by their first five letters ("adapt" matches "adaptation"),
    the parts of hyphenated words too, and figures as written."""
    found: set[str] = set()
    for word in TERM.findall(text.lower().replace("’", "'")):
        if word[0].isdigit():
            found.add(word)
            continue
        if word in STOPWORDS or len(word) < 3:
            continue
        found.add(word[:5])
        if "-" in word:
            found.update(part[:5] for part in word.split("-") if len(part) > 2 and part not in STOPWORDS)
    return found


ARTICLE_CHUNKS = (
    "FROM assistant_chunk c JOIN assistant_knowledgedocument d ON d.id = c.document_id WHERE d.source_type <> 'product'"
)


class _TermRarity:
    """Inverse document frequency of terms over the units of the articles' chunks (product
    descriptions are not quoted from, so they do not count), recomputed when the chunks change."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._units = 0
        self._frequency: dict[str, int] = {}
        self._lock = threading.Lock()

    def idf(self) -> Callable[[str], float]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), COALESCE(max(c.id), 0) {ARTICLE_CHUNKS}")
            count, newest = cursor.fetchone()
            key = (int(count), int(newest))
            if key != self._key:
                cursor.execute(f"SELECT c.text {ARTICLE_CHUNKS}")
                frequency: dict[str, int] = {}
                units = 0
                for (text,) in cursor.fetchall():
                    for unit in passage_units(text):
                        units += 1
                        for term in terms(unit.text):
                            frequency[term] = frequency.get(term, 0) + 1
                with self._lock:
                    self._key, self._units, self._frequency = key, units, frequency
        with self._lock:
            units, frequency = self._units, self._frequency
        return lambda term: math.log((units + 1) / (frequency.get(term, 0) + 0.5))


_rarity = _TermRarity()


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))


def score_units(question: str, chunks: Sequence[RetrievedChunk]) -> list[ScoredUnit]:
    """Every unit of the articles the search found (each article whole, not only its retrieved
    chunks: the answer is often a section away from the chunk that matched), with its features."""
    documents: list[int] = []
    for chunk in chunks:
        if chunk.document_id not in documents:
            documents.append(chunk.document_id)
    retrieved = {chunk.chunk_id for chunk in chunks}
    if not chunks:
        return []
    (question_vector,) = embed_texts([question])
    answer_vector = answer_direction(question_vector)
    candidates = document_chunks(document_ids=documents, query_vector=question_vector)
    scored: list[ScoredUnit] = []
    vectors: list[list[float]] = []
    seen: set[tuple[int, str]] = set()
    asked_vectors: list[list[float] | None] = []
    for chunk, (units, unit_vectors, question_vectors) in zip(candidates, _units.get_many(candidates), strict=True):
        for index, (unit, vector, asked_vector) in enumerate(zip(units, unit_vectors, question_vectors, strict=True)):
            if (chunk.document_id, unit.text) in seen:  # the overlap between consecutive chunks
                continue
            seen.add((chunk.document_id, unit.text))
            scored.append(
                ScoredUnit(
                    chunk=chunk,
                    index=index,
                    unit=unit,
                    document_rank=documents.index(chunk.document_id),
                    retrieved=chunk.chunk_id in retrieved,
                )
            )
            vectors.append(vector)
            asked_vectors.append(asked_vector)
    if not scored:
        return []
    headings = sorted({section(s.chunk.heading) for s in scored})
    heading_vectors = _units.headings(headings)
    heading_similarity = {h: _dot(question_vector, v) for h, v in zip(headings, heading_vectors, strict=True)}
    idf = _rarity.idf()
    asked = terms(question)
    total = sum(idf(t) for t in asked) or 1.0
    for item, vector, asked_vector in zip(scored, vectors, asked_vectors, strict=True):
        item.semantic = _dot(question_vector, vector)
        item.answer = _dot(answer_vector, vector)
        item.question_match = _dot(question_vector, asked_vector) if asked_vector is not None else 0.0
        item.heading = heading_similarity[section(item.chunk.heading)]
        own = asked & terms(item.unit.text)
        around = asked & (terms(section(item.chunk.heading)) | terms(item.chunk.title))
        item.terms = sum(idf(t) for t in own) / total
        item.heading_terms = sum(idf(t) for t in around - own) / total
    return scored


# A question after an amount, a time or a frequency is answered by a unit that states one.
QUANTITY_QUESTION = re.compile(
    r"\b(how (much|many|long|often|far|soon|old|thick|big|strong)|what (age|percentage|distance|size|power)|when)\b",
    re.IGNORECASE,
)
QUANTITY = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|ten|twelve|twice|half|daily|weekly|monthly|yearly|"
    r"every|annual|once)\b",
    re.IGNORECASE,
)


# What a question asks for, and the units that give it.
DEFINITION_QUESTION = re.compile(r"^\s*(what('s| is| are| does)|what do)\b", re.IGNORECASE)
DEFINITION = re.compile(r"^[^.:;]{0,60}(:| is | are | means | stands for |\()", re.IGNORECASE)
CAUSE_QUESTION = re.compile(r"\bwhy\b|\bhow come\b|\bwhat causes\b", re.IGNORECASE)
CAUSE = re.compile(r"\b(because|due to|caused by|causes|cause|so that|so|makes|leads to|result)\b", re.IGNORECASE)
STEP_QUESTION = re.compile(r"^\s*how (do|can|should|would) (i|you|we)\b", re.IGNORECASE)
STEP = re.compile(
    r"^(measure|use|ask|check|hold|place|mark|add|take|replace|rinse|keep|make|set|fit|give|move|divide|"
    r"multiply|change|write|look|bring|offer|record|refer)\b",
    re.IGNORECASE,
)


def meaning_score(item: ScoredUnit, weights: QuoteWeights = WEIGHTS) -> float:
    """How close in meaning a unit is to the question, with its heading and the search's rank."""
    return (
        item.semantic
        + weights.covered_heading * item.heading
        + weights.covered_prior / (1 + item.document_rank)
        + (weights.covered_retrieved if item.retrieved else 0.0)
    )


def combine(scored: list[ScoredUnit], weights: QuoteWeights = WEIGHTS, *, question: str = "") -> None:
    asks = [
        (bool(QUANTITY_QUESTION.search(question)), QUANTITY, weights.quantity),
        (bool(DEFINITION_QUESTION.search(question)), DEFINITION, weights.definition),
        (bool(CAUSE_QUESTION.search(question)), CAUSE, weights.cause),
        (bool(STEP_QUESTION.search(question)), STEP, weights.step),
    ]
    for item in scored:
        item.score = (
            (1 - weights.answer) * item.semantic
            + weights.answer * item.answer
            + weights.heading * item.heading
            + weights.prior / (1 + item.document_rank)
            + (weights.retrieved if item.retrieved else 0.0)
            + weights.terms * item.terms
            + weights.heading_terms * item.heading_terms
            + weights.question_match * item.question_match
            + sum(weight for asked, pattern, weight in asks if asked and pattern.search(item.unit.text))
        )
        if item.unit.text.endswith(":"):
            item.score -= weights.lead_in  # "Typical values:" introduces an answer, it is not one


def _order(item: ScoredUnit) -> tuple[int, int, int]:
    return (item.document_rank, item.chunk.position, item.index)


def _window(best: ScoredUnit, scored: list[ScoredUnit], size: int) -> list[ScoredUnit]:
    """`best` and the units that follow it (then precede it) in its section, `size` at most.
    A unit ending with a colon runs on into the list or table it introduces."""
    siblings = sorted((s for s in scored if s.chunk.document_id == best.chunk.document_id), key=_order)
    at = siblings.index(best)
    window = [best]

    def joined(left: ScoredUnit, right: ScoredUnit) -> bool:
        if left.unit.text.endswith(":"):
            return True
        if left.chunk.chunk_id == right.chunk.chunk_id:
            return left.unit.paragraph == right.unit.paragraph
        return left.chunk.heading == right.chunk.heading

    after, before = at + 1, at - 1
    while len(window) < size and after < len(siblings) and joined(siblings[after - 1], siblings[after]):
        window.append(siblings[after])
        after += 1
    while len(window) < size and before >= 0 and joined(siblings[before], siblings[before + 1]):
        window.insert(0, siblings[before])
        before -= 1
    return window


def covered(scored: list[ScoredUnit], weights: QuoteWeights = WEIGHTS) -> bool:
    """Whether any unit is close enough in meaning to answer the question."""
    return bool(scored) and max(meaning_score(s, weights) for s in scored) >= weights.covered_score


# The answer read after the question, and after no question: the difference is how much the
# question raises the model's expectation of the unit (pointwise mutual information, in nats).
ASKED = "A patient asked: {question}\nThe answer:"
UNASKED = "The answer:"


def likelihood_pairs(question: str, candidates: Sequence[ScoredUnit]) -> list[tuple[str, str]]:
    """(context, continuation) pairs for the model: each unit under its section's name after the
    question, then each after no question (the same for every question: the worker keeps them)."""
    asked = ASKED.format(question=" ".join(question.split()))
    units = [" " + in_context(c.chunk, c.unit) for c in candidates]
    return [(asked, unit) for unit in units] + [(UNASKED, unit) for unit in units]


def rerank_candidates(
    scored: list[ScoredUnit], weights: QuoteWeights = WEIGHTS, *, question: str = ""
) -> list[ScoredUnit]:
    """The units the model should read: the best `weights.rerank` by the other features; none
    when the sources do not answer the question."""
    if not covered(scored, weights) or weights.rerank <= 0:
        return []
    combine(scored, weights, question=question)
    return sorted(scored, key=lambda s: s.score, reverse=True)[: weights.rerank]


def rerank_with(candidates: Sequence[ScoredUnit], values: Sequence[tuple[float, int]]) -> None:
    """Set each candidate's `likelihood` from the model's answers to `likelihood_pairs`."""
    if len(values) != 2 * len(candidates):
        raise ValueError(f"{len(values)} likelihoods for {len(candidates)} candidates")
    for item, (asked, _), (unasked, _) in zip(candidates, values, values[len(candidates) :], strict=False):
        item.likelihood = asked - unasked


def _add_likelihood(scored: list[ScoredUnit], weights: QuoteWeights) -> None:
    read = [s.likelihood for s in scored if s.likelihood is not None]
    if len(read) < 2 or not weights.likelihood:
        return
    mean = sum(read) / len(read)
    spread = math.sqrt(sum((v - mean) ** 2 for v in read) / len(read)) or 1.0
    lowest = min(read)
    for item in scored:
        # In standard deviations from the candidates' mean; units the model did not read rank as
        # its least likely candidate.
        value = lowest if item.likelihood is None else item.likelihood
        item.score += weights.likelihood * (value - mean) / spread


def choose(scored: list[ScoredUnit], weights: QuoteWeights = WEIGHTS, *, question: str = "") -> Quote | None:
    """The quote: the best unit with its neighbours, and with its near-equals from the same
    article, in document order; None when even the best unit scores too low to answer. Units
    the model read (`likelihood` set) have its question likelihood added to their score."""
    if not covered(scored, weights):
        return None
    combine(scored, weights, question=question)
    _add_likelihood(scored, weights)
    best = max(scored, key=lambda s: s.score)
    # A question and its answer ("**Can I …?** Yes, …") says all it has to say: the item after it
    # answers another question.
    window = _window(best, scored, 1 if ANSWERED_QUESTION.match(best.unit.text) else weights.window)
    # The best unit's lead-in runs on into what it introduces; its other neighbours give way to
    # units that score almost as well.
    chosen = window if best.unit.text.endswith(":") else [best]
    texts = {s.unit.text for s in chosen}
    for item in sorted(scored, key=lambda s: s.score, reverse=True):
        if len(chosen) >= MAX_UNITS or item.score < weights.companion_ratio * best.score:
            break
        if item.chunk.document_id != best.chunk.document_id or item.unit.text in texts:
            continue
        # A lead-in ("… the power needed at the new position is:") comes with what it introduces,
        # or not at all.
        joining = _window(item, scored, 2) if item.unit.text.endswith(":") else [item]
        joining = [j for j in joining if j.unit.text not in texts]
        if len(chosen) + len(joining) <= MAX_UNITS:
            chosen += joining
            texts.update(j.unit.text for j in joining)
    for item in window:
        if len(chosen) < MAX_UNITS and item.unit.text not in texts:
            chosen.append(item)
            texts.add(item.unit.text)
    chosen.sort(key=_order)
    return Quote(chunk=best.chunk, units=chosen, score=best.score)


def quote_for(
    question: str,
    chunks: Sequence[RetrievedChunk],
    weights: QuoteWeights = WEIGHTS,
    *,
    likelihoods: Likelihoods | None = None,
) -> Quote | None:
    """What to quote from `chunks` in answer to `question`; None when they do not answer it.
    `likelihoods`: the model that reads the best units (in this process), or None."""
    scored = score_units(question, chunks)
    if likelihoods is not None:
        candidates = rerank_candidates(scored, weights, question=question)
        if candidates:
            rerank_with(candidates, likelihoods(likelihood_pairs(question, candidates)))
    return choose(scored, weights, question=question)
