"""Keeping a model's own words to what its sources say.

A small model paraphrasing retrieved text repeats itself, trails off, invents details (a phone
number, "10 to 15 years") and strings source words into sentences that mean nothing ("The sphere
is 0.00, written as plano, which is the distance between the sphere and the cylinder."). The
model's answer is let through one whole sentence at a time, and a sentence is dropped when it:

- repeats an earlier one, or repeats a phrase within itself,
- runs on (more than `MAX_WORDS` words, or no full stop before the stream ends),
- contains a number that none of the sources contains,
- uses mostly words the sources do not (fewer than three in four of its content words appear
  there, compared by their first five letters so that "adapt" matches "adaptation"),
- is not said by one place in the sources. A small model that has the right words joins facts
  from different source sentences, or puts a wrong relation between them ("a Fresnel prism creates
  a base-up prism in the lower part of one lens": that is the slab-off of another article). So the
  one source unit (sentence, list item or table row), or two adjacent units of which the second
  goes on about the first ("It …", "This …"), that holds most of the sentence's content words must
  hold at least `place_coverage` of them, every figure of the sentence, every word that sets a
  relation or a quantity ("greater", "same", "always", "only"), and no specific word that only
  another article of the sources has; it must agree with the sentence on what is negated ("not
  lighter"), and be close to it in meaning (embedding similarity at least `place_similarity`),
- joins clauses of which one is said by no place (each clause must be, when the sentence as a
  whole is not said by one place; and a source sentence with a clause of its own tacked on is
  dropped),
- copies a signpost of the sources (a heading path), talks about the question ("you've just
  answered a question about …"), answers "Yes"/"No" to a question that asked what, which or
  which of two (a source item's own answer to its own question), or gives a reason ("Because …")
  to a question that asked no why,
- takes back what it says ("…, but it is not a prism"),
- contradicts the place that carries it: the sentence says "plus" where the source
  says "minus", "thicker" where it says "thinner", or gives other figures (1.67 for 1.74),
- makes a comparison ("lighter than") that no source sentence makes, or that the sources make
  only negated ("not lighter"),
- is filler in place of a fact ("is a factor in determining"), or only names what the question
  and the sources' headings already name ("Trivex and polycarbonate lenses."),
- answers about the other of a pair where the question asks about one ("daily" lenses under a
  question about monthly ones: a true sentence of the sources, about something else),
- claims evidence or says what something stands for ("studies show", "represents") without one
  place in the sources saying nearly all of it.

The thresholds were calibrated on the tuning ("dev") part of sentences that SmolLM2-135M-Instruct
and Gemma 3 270M wrote for the evaluation questions, labelled by hand
(assistant/eval/knowledge_gate_sentences.json); benchmarks/RESULTS.md has what passes there, on the
held-out part and on fresh outputs for held-out questions. The quoted sentences that follow every knowledge answer
remain the reference.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from assistant.knowledge.sentences import STOPWORDS, content_words, passage_units, plain, stated

# A sentence ends at . ! or ? followed by a space; a point inside a number ("1.67") does not end one.
SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+?[.!?]+(?=\s|$)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
WORDS = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
NEGATION = re.compile(r"\b(not|never|no|cannot|can't|won't|doesn't|don't|isn't|aren't|without)\b")
TAUTOLOGY = re.compile(
    r"^(?:the |a |an )?(\w{4,}) (?:is|are) (?:usually |often |always |also |simply |just |a |an |the |type of |kind of )*\1\b",
    re.IGNORECASE,
)
# Talk about the answer, the question or the text instead of about optics.
META = re.compile(
    r"\b(the answer|this question|the question|reference text|the text|the context|you're right|you are right|"
    r"you are correct|you're correct|as mentioned|mentioned earlier|in summary|here is|here's|as follows|the following|"
    r"(?:you've|you have|i've|i have) (?:just )?(?:asked|answered)|a question about)\b",
    re.IGNORECASE,
)
# A heading path copied from the sources ("Contact lens hygiene > The core rules > 3."): a
# signpost, not an answer.
HEADING_PATH = re.compile(r"\S >\s\S")
# Markdown a model copies from the sources' list items: a bullet, bold markers.
MARKUP = re.compile(r"^(?:[-*+]\s+|\*\*\s*)+|\*\*")
# "Yes …" or "No …" answers a question that can be answered so; "Because …" answers a why.
ANSWERS_YES_NO = re.compile(r"^(?:yes|no)\b", re.IGNORECASE)
ANSWERS_WHY = re.compile(r"^because\b", re.IGNORECASE)
# A question that asks what, which, how … (its first words), or which of two ("… A or B?").
OPEN_QUESTION = re.compile(
    r"^\W*(?:\w+\W+){0,2}?(?:what|which|when|where|who|whom|whose|why|how)\b|\b(?:or|versus|vs)\b(?! not\b)[^?]*\?\s*$"
    r"|\b(?:and|but)\s+(?:what|which|when|where|who|why|how)\b",
    re.IGNORECASE,
)
WHY_QUESTION = re.compile(r"\b(?:why|how come|what causes|what makes|reason)\b", re.IGNORECASE)
# A first sentence that points back to something nobody has said yet.
DANGLING = re.compile(r"^(this|that|these|those|it|they|such)\b", re.IGNORECASE)
# A sentence cut at an abbreviation that needs what follows ("Wet AMD vs.").
BROKEN_OFF = re.compile(r"\b(vs|e\.g|i\.e|cf|incl)\.$", re.IGNORECASE)
# Five words of the question in a row with one of its asking words, said by no source: the
# question's words made into an answer ("The line on bifocals for and where should it sit is …").
QUESTION_RUN = 5
ASKING = frozenset(
    {"what", "what's", "where", "when", "why", "how", "which", "who", "should", "could", "would", "do", "does"}
)
# "The base curve is the diameter of the lens." where the sources name "the base curve and the
# diameter": two things the sources list side by side made one.
DEFINES = re.compile(r"^(?:the |a |an )?([\w\s'-]{2,40}?) (?:is|are|means) the ([\w'-]+)", re.IGNORECASE)
TOKEN = re.compile(r"[a-z0-9']+")
# Names and abbreviations: capitalised words after the first, and words in capitals.
NAME = re.compile(r"(?<=\s)[A-Z][A-Za-z0-9-]+|\b[A-Z]{2,}[A-Za-z0-9]*\b")
ARITHMETIC = re.compile(
    r"\b(multipl(?:y|ies|ied|ying) by|multiplied|divided by|divide by|squared|square of|square root|"
    r"subtract\w*|twice|times the|function of|proportional to)\b",
    re.IGNORECASE,
)
# A source that states a relation: a formula or an operator between terms.
FORMULA = re.compile(
    r"[=+/×]|\s[x-]\s|\b(multipl\w*|divided|squared|square root|subtract\w*|twice|times|function of|proportional)\b"
)
# A comparison ("thicker than", "more durable than") and the word it turns on.
COMPARISON = re.compile(r"\b(?:more |less )?([a-z]+er|more [a-z]+|less [a-z]+) than\b", re.IGNORECASE)
# Filler a small model writes in place of a fact.
VAGUE = re.compile(
    r"\b(a factor in|a role in|important (?:factor|role)|in determining|plays? a part|depends on (?:many|several|various))\b",
    re.IGNORECASE,
)
# Claims about evidence, and sentences that say what something stands for, must be said almost
# word for word by one place in the sources: half-right, they are the most misleading.
CLAIM = re.compile(
    r"\b(stud(?:y|ies)|research|evidence|trials?|proven|represents?|stands? for|refers? to|is known as)\b",
    re.IGNORECASE,
)
# A negation and the words it governs: up to the end of its clause.
NEGATED_SCOPE = re.compile(
    r"\b(?:not|never|no|cannot|can't|won't|doesn't|don't|isn't|aren't|without|nor)\b([^,;:.!?()]*)", re.IGNORECASE
)
# Words that carry the telling, not a fact: a paraphrase may add them ("does not actually reflect").
DISCOURSE_WORDS = """actually rather really simply generally typically mainly mostly instead indeed therefore thus
hence however although though whereas basically essentially particularly especially certainly"""
DISCOURSE = frozenset(word[:5] for word in DISCOURSE_WORDS.split())
# A unit that goes on about the one before it.
CONTINUES = re.compile(
    r"^(?:[\"“(]*)(?:it|its|this|these|that|those|they|their|them|such|so|then|which|both|each|here|there|"
    r"in (?:practice|this|that|these|short)|for (?:this|that|example)|as a result|however|but|and|also|otherwise)\b",
    re.IGNORECASE,
)
# A prefix that turns a word into its opposite: "anti-reflective" is not "reflective".
NEGATING_PREFIX = re.compile(r"\b(?:anti|non|un)-([a-z]+)", re.IGNORECASE)
# "X …, but it is not X": a clause that takes back what the sentence has just said.
TAKEN_BACK = re.compile(r"[,;]?\s+\b(?:but|however|although|though|yet)\b", re.IGNORECASE)
# Where a sentence joins clauses that each state a fact: a colon or semicolon, a dash, or a comma
# before a conjunction ("…, so the distance looks blurred", "…, and an executive segment …").
CLAUSE_BREAK = re.compile(r"\s*[:;]\s+|\s+[—–]\s+|,\s+(?=(?:and|so|because|as|which|while|whereas|or)\b)")
MIN_CLAUSE_WORDS = 3
# Words that set a relation or a quantity: with the right terms around them and the wrong one of
# these, a sentence says something else ("a greater power" where the source says "the same power").
RELATION = re.compile(
    r"\b(more|less|fewer|most|least|greater|greatest|larger|largest|smaller|smallest|bigger|higher|highest|lower|"
    r"lowest|same|equal|different|opposite|increases?|increased|decreases?|decreased|reduces?|reduced|always|never|"
    r"every|all|none|only|before|after|above|below)\b",
    re.IGNORECASE,
)
CITATION_MARK = re.compile(r"^\[\d+\]\s*")
PREAMBLE = re.compile(r"^(?:the )?answer(?: to (?:this|your|the) question)? is:\s*", re.IGNORECASE)
# Title words (as stems) that name no one article: most articles are about lenses or eyes.
GENERIC_TITLE_WORDS = frozenset({"lens", "lense", "spect", "glass", "eye", "eyes", "presc", "conta"})
ANSWER_PARTICLE = re.compile(r"^(yes|no)\b[,.]?\s*")


@dataclass(frozen=True)
class GateThresholds:
    """Calibrated on the development cases of assistant/eval/knowledge_gate_sentences.json."""

    # Share of a sentence's content words found anywhere in the sources.
    support: float = 0.6
    # Share found in one place: a source sentence with the ones either side of it.
    local_support: float = 0.5
    # Embedding similarity to the closest source sentence.
    similarity: float = 0.65
    # Share of the sentence carried by one source sentence above which a negation must agree.
    negation_share: float = 0.8
    # Below this share carried by one place, a sentence naming the subjects of two articles is
    # taken to have joined them.
    mixing_share: float = 0.8
    # Share carried by one place that a claim about evidence or a meaning needs.
    claim_share: float = 0.8
    # The one source unit (or two adjacent ones) that says most of a sentence must hold this
    # share of its content words ...
    place_coverage: float = 0.75
    # ... be this close to it in meaning ...
    place_similarity: float = 0.65
    # ... or, a paraphrase in other words, hold this share and be this close.
    paraphrase_coverage: float = 0.6
    paraphrase_similarity: float = 0.85
    # ... and lack at most this many of the sentence's specific words that another article of the
    # sources holds: a word in no more than `specific_share` of the source units (or in one) names a
    # fact of its own.
    place_foreign: int = 0
    specific_share: float = 0.05


THRESHOLDS = GateThresholds()
MAX_SENTENCES = 3
MAX_WORDS = 50
SHORT_SENTENCE = 10
# A stream that goes this far without ending a sentence is running on: stop reading it.
MAX_BUFFER = 600
# Subjects of which a question asks about one: a sentence about the other answers another question.
SUBJECT_OPPOSITES = (
    ("daily", "monthly"),
    ("short-sighted", "long-sighted"),
    ("myopia", "hyperopia"),
    ("myopic", "hyperopic"),
)
# A sentence this short that only names what the question and the headings name says nothing.
NAMING_WORDS = 6
# Terms whose swap turns a source's statement into its opposite.
OPPOSITES = (
    ("plus", "minus"),
    ("short-sighted", "long-sighted"),
    ("myopic", "hyperopic"),
    ("myopia", "hyperopia"),
    ("concave", "convex"),
    ("thinner", "thicker"),
    ("lighter", "heavier"),
    ("higher", "lower"),
    ("more", "less"),
    ("increase", "decrease"),
    ("increases", "decreases"),
    ("steeper", "flatter"),
    ("towards", "away"),
    ("inwards", "outwards"),
    ("vertical", "horizontal"),
    ("magnify", "minify"),
    ("wet", "dry"),
    ("gradual", "rapid"),
    ("gradually", "rapidly"),
    ("right eye", "left eye"),
    ("base up", "base down"),
    ("base in", "base out"),
    ("daily", "monthly"),
    ("hard", "soft"),
    ("in front of", "behind"),
)

Embed = Callable[[Sequence[str]], list[list[float]]]


def _default_embed(texts: Sequence[str]) -> list[list[float]]:
    from assistant.llm.embeddings import embed_texts

    return embed_texts(texts, batch_size=32)


class _VectorCache:
    """Embeddings of sentences: the same articles are cited again and again."""

    def __init__(self, size: int = 8192) -> None:
        self._items: OrderedDict[str, list[float]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def vectors(self, texts: Sequence[str], embed: Embed) -> list[list[float]]:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._items]
        if missing:
            fresh = embed(missing)
            with self._lock:
                self._items.update(zip(missing, fresh, strict=True))
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        with self._lock:
            return [self._items[t] for t in texts]


_cache = _VectorCache()


def _says(text: str, term: str) -> bool:
    return re.search(rf"(?<![a-z-]){re.escape(term)}(?![a-z-])", text) is not None


def swapped(first: str, second: str, pairs: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The pair of terms (this, other) where `first` says this and not other, and `second` other
    and not this ("plus" in a sentence whose source says "minus"); None when no pair is swapped."""
    for a, b in pairs:
        for this, other in ((a, b), (b, a)):
            if _says(first, this) and not _says(first, other) and _says(second, other) and not _says(second, this):
                return this, other
    return None


PLURAL = re.compile(r"(?:(?<=[sxz])|(?<=ch)|(?<=sh))es$|(?<=[^su])s$")


def stem(word: str) -> str:
    """A word by its first five letters, plural ending off ("lenses" is "lens", "adapt" matches
    "adaptation")."""
    return PLURAL.sub("", word)[:5] if len(word) > 4 else word[:5]


def stems(words: Iterable[str]) -> set[str]:
    return {stem(w) for w in words}


def polarity(text: str) -> tuple[set[str], set[str]]:
    """The content-word stems a text negates ("not lighter": lighter; "anti-reflective":
    reflective) and those it states."""
    negated = stems(w.lower() for w in NEGATING_PREFIX.findall(text))
    for match in NEGATED_SCOPE.finditer(text):
        negated |= stems(content_words(match.group(1))[:3])
    stated = stems(content_words(NEGATED_SCOPE.sub(" ", NEGATING_PREFIX.sub(" ", text))))
    return negated, stated - negated


def contradicts(sentence: str, place: str) -> bool:
    """The sentence states what the place negates, or negates what it states, and they share no
    negation ("protection depends on the material, not on darkness" agrees with "does not depend
    on darkness")."""
    said_not, said = polarity(sentence)
    source_not, source = polarity(place)
    if said_not & source_not:
        return False
    return bool(source_not & said or said_not & source)


def takes_itself_back(sentence: str) -> bool:
    """A later clause denies what an earlier one says: its words are all the earlier clause's
    ("A Fresnel prism corrects double vision, but it is not a prism.")."""
    parts = TAKEN_BACK.split(sentence, maxsplit=1)
    if len(parts) < 2:
        return False
    before, after = stems(content_words(parts[0])), parts[1]
    negated, stated = polarity(after)
    return bool(negated) and negated | stated <= before


def repeated_phrase(sentence: str) -> bool:
    """A word said twice in a row, a thing said to be itself ("the grease is usually grease"), or a
    three-word phrase with a content word said twice."""
    words = WORDS.findall(sentence.lower())
    if any(a == b and a in set(content_words(a)) for a, b in itertools.pairwise(words)):
        return True
    if TAUTOLOGY.search(sentence):
        return True
    content = content_words(sentence)
    if len(words) <= SHORT_SENTENCE and len(set(content)) < len(content):
        return True  # "The segment is a straight line, with a dividing line."
    seen: set[tuple[str, ...]] = set()
    for i in range(len(words) - 2):
        gram = tuple(words[i : i + 3])
        if not content_words(" ".join(gram)):
            continue
        if gram in seen:
            return True
        seen.add(gram)
    return False


@dataclass(frozen=True)
class SourceSentence:
    text: str
    stems: frozenset[str]  # content-word stems
    numbers: frozenset[str]
    source: int = 0  # which article of the sources it is in


@dataclass(frozen=True)
class Place:
    """One source unit (sentence, list item, table row), or two adjacent units of one source."""

    units: tuple[SourceSentence, ...]

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.units)

    @property
    def stems(self) -> frozenset[str]:
        return frozenset().union(*(u.stems for u in self.units))

    @property
    def numbers(self) -> frozenset[str]:
        return frozenset().union(*(u.numbers for u in self.units))


@dataclass(frozen=True)
class Support:
    """How well the one place that says most of a sentence supports it."""

    place: Place
    coverage: float  # share of the sentence's content words (stems) the place holds
    foreign: frozenset[str]  # words it lacks that only other sources hold: facts joined from another article
    similarity: float  # embedding similarity of the sentence to the place


def _tokens(text: str) -> str:
    """The text's words and figures, lower case, space-separated and space-padded."""
    return " " + " ".join(TOKEN.findall(text.lower().replace("’", "'"))) + " "


class SentenceGate:
    """Feed the model's text as it streams; get back the sentences the sources support."""

    def __init__(
        self,
        sources: Sequence[str],
        *,
        max_sentences: int = MAX_SENTENCES,
        embed: Embed | None = None,
        thresholds: GateThresholds | None = None,
        question: str = "",
    ) -> None:
        self.thresholds = thresholds or THRESHOLDS
        self.source_texts = list(sources)
        # The sources as the sentence rules read them, once per answer rather than per sentence.
        self._plain_sources = plain(" ".join(self.source_texts)).lower()
        self._source_tokens = _tokens(" ".join(self.source_texts))
        self.question_stems = stems(content_words(question))
        self.question = question
        # Every part of the sources' heading paths ("Lens tints > Sunglass filter categories").
        self.headings = {
            part.strip().lower() for source in sources for part in source.split("\n", 1)[0].split(" > ") if part.strip()
        }
        self.heading_stems = set().union(*(stems(content_words(heading)) for heading in self.headings))
        self.sources: list[SourceSentence] = []
        self.places: list[Place] = []
        articles: dict[str, int] = {}
        for source in sources:
            # Chunks of one article count as one source: a sentence may draw on all of it.
            index = articles.setdefault(source.split("\n", 1)[0].split(" > ", 1)[0].strip(), len(articles))
            # An item's question ("What does a plus number on my prescription mean?") says nothing:
            # its words support no sentence, only its answer does.
            units = [
                SourceSentence(
                    text=text,
                    stems=frozenset(stems(content_words(text))),
                    numbers=frozenset(NUMBER.findall(text)),
                    source=index,
                )
                for text in (stated(unit.text) for unit in passage_units(source))
            ]
            self.sources += units
            self.places += [Place((unit,)) for unit in units]
            # Two units are one place when the second goes on about the first ("It …", "This …"):
            # a sentence joining two units that each have their own subject joins two facts.
            self.places += [Place(pair) for pair in itertools.pairwise(units) if CONTINUES.match(pair[1].text)]
        titles = [source.split("\n", 1)[0].split(" > ", 1)[0].strip() for source in sources]
        all_title_stems = [stems(content_words(title)) for title in titles]
        self.title_words: dict[str, set[str]] = {}
        for title, words in zip(titles, all_title_stems, strict=True):
            # Words of one title only: "lenses" names no article among several lens articles.
            others = set().union(*(w for t, w in zip(titles, all_title_stems, strict=True) if t != title))
            self.title_words[title] = words - others - GENERIC_TITLE_WORDS
        reference = "\n".join(sources)
        self.numbers = set(NUMBER.findall(reference))
        self.names = {w.lower() for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9-]*", reference)}
        self.stems = stems(content_words(reference))
        self.max_sentences = max_sentences
        self.accepted: list[str] = []
        self.dropped = 0
        self.reasons: list[str] = []
        self.verdicts: list[tuple[str, str | None]] = []  # every complete sentence and why it was dropped
        self.stopped = False
        self._embed = embed or _default_embed
        self._source_vectors: list[list[float]] | None = None
        self._seen: set[str] = set()
        self._buffer = ""

    @property
    def full(self) -> bool:
        return self.stopped or len(self.accepted) >= self.max_sentences

    def _similarity(self, sentence: str) -> float:
        if not self.sources:
            return 0.0
        if self._source_vectors is None:
            self._source_vectors = _cache.vectors([s.text for s in self.sources], self._embed)
        (vector,) = _cache.vectors([sentence], self._embed)
        return max(sum(a * b for a, b in zip(vector, v, strict=True)) for v in self._source_vectors)

    def support(self, sentence: str) -> Support | None:
        """The place that holds most of the sentence's content words (one unit before a pair,
        then the closer in meaning), and how well it supports the sentence."""
        said = stems(content_words(sentence)) - DISCOURSE
        if not said or not self.places:
            return None
        coverage = {id(p): len(said & p.stems) / len(said) for p in self.places}
        best = max(coverage.values())
        if best == 0:
            return None
        candidates = [p for p in self.places if coverage[id(p)] == best]
        fewest = min(len(p.units) for p in candidates)
        candidates = [p for p in candidates if len(p.units) == fewest]
        vectors = _cache.vectors([sentence, *(p.text for p in candidates)], self._embed)
        scored = [
            (sum(a * b for a, b in zip(vectors[0], v, strict=True)), p)
            for v, p in zip(vectors[1:], candidates, strict=True)
        ]
        similarity, place = max(scored, key=lambda x: x[0])
        source = place.units[0].source
        own = set().union(*(u.stems for u in self.sources if u.source == source))
        elsewhere = set().union(*(u.stems for u in self.sources if u.source != source)) - own
        return Support(
            place=place,
            coverage=best,
            foreign=frozenset((said - place.stems) & elsewhere),
            similarity=similarity,
        )

    def _specific(self, words: Iterable[str]) -> set[str]:
        """Of `words` (stems), those found in few source units: they name a fact, not the topic."""
        limit = max(1.0, self.thresholds.specific_share * len(self.sources))
        return {w for w in words if sum(w in u.stems for u in self.sources) <= limit}

    def _carrier(self, words: set[str]) -> tuple[float, SourceSentence | None, set[str], str]:
        """Where the sources say most of `words` (stems): the share found in one source sentence
        with the ones either side of it; that sentence; and the place's numbers and text."""
        best: tuple[float, SourceSentence | None, set[str], str] = (0.0, None, set(), "")
        for i, source in enumerate(self.sources):
            place = self.sources[max(0, i - 1) : i + 2]
            place_stems = set().union(*(s.stems for s in place))
            share = len(words & place_stems) / len(words)
            if share > best[0]:
                numbers = set().union(*(s.numbers for s in place))
                best = (share, source, numbers, " ".join(s.text for s in place))
        return best

    def verdict(self, sentence: str) -> str | None:
        """Why `sentence` is dropped, or None when it passes."""
        words = content_words(sentence)
        key = " ".join(words)
        if key in self._seen:
            return "repeats an earlier sentence"
        self._seen.add(key)
        if not words:
            return "says nothing"
        if sentence.endswith("?"):
            return "asks instead of answering"
        if BROKEN_OFF.search(sentence.strip()):
            return "breaks off"
        if self._echoes_question(sentence):
            return "makes the question's words into an answer"
        if self._makes_two_one(sentence):
            return "makes two things the sources list side by side one"
        if META.search(sentence):
            return "talks about the answer, not about optics"
        if HEADING_PATH.search(sentence) or sentence.rstrip(".:").strip().lower() in self.headings:
            return "a heading of the sources, not an answer"
        if self.question and ANSWERS_YES_NO.match(sentence) and OPEN_QUESTION.search(self.question):
            # The "Yes: …" of a source's own question and answer, under a question that asked what or which.
            return "answers yes or no to a question that asked something else"
        if self.question and ANSWERS_WHY.match(sentence) and not WHY_QUESTION.search(self.question):
            return "gives a reason nobody asked for"
        if not self.accepted and DANGLING.match(sentence):
            return "points back to nothing"
        if len(sentence.split()) > MAX_WORDS:
            return "runs on"
        if repeated_phrase(sentence):
            return "repeats a phrase"
        numbers = NUMBER.findall(sentence)
        if any(number not in self.numbers for number in numbers):
            return "a number the sources do not have"
        if any(name.lower() not in self.names for name in NAME.findall(sentence)):
            return "a name or abbreviation the sources do not have"
        if sum(stem(w) in self.stems for w in words) / len(words) < self.thresholds.support:
            return "words the sources do not use"
        if not stems(words) - self.question_stems:
            return "only restates the question"
        if len(sentence.split()) <= NAMING_WORDS and stems(words) <= (
            self.heading_stems | self.question_stems | GENERIC_TITLE_WORDS
        ):
            return "names the subject and says nothing"
        if (other := self._answers_the_other(sentence)) is not None:
            return other
        if VAGUE.search(sentence):
            return "filler instead of a fact"
        if takes_itself_back(sentence):
            return "takes back what it says"
        support = self.support(sentence)
        if CLAIM.search(sentence) and (support is None or support.coverage < self.thresholds.claim_share):
            return "a claim no one place in the sources makes"
        reason = self._place_verdict(sentence, support)
        clauses = self._clauses(sentence)
        if reason is not None:
            # A sentence that joins two facts ("…: the sphere plus half the cylinder", "…, so …")
            # passes when each of its clauses is said by one place on its own terms.
            if len(clauses) < 2 or any(self._place_verdict(c, self.support(c)) is not None for c in clauses):
                return reason
        elif len(clauses) > 1 and any(
            (clause_support := self.support(c)) is None or clause_support.coverage < self.thresholds.place_coverage
            for c in clauses
        ):
            # Most of the words of one place, with a clause of its own tacked on ("…, and let you know
            # about the last time you had a problem").
            return "a clause no source sentence says"
        share, carrier, place_numbers, place = self._carrier(stems(words))
        if share < self.thresholds.local_support or carrier is None:
            return "no one place in the sources says it"
        if swap := swapped(sentence.lower(), place.lower(), OPPOSITES):
            return f"says “{swap[0]}” where the source says “{swap[1]}”"
        sentence_stems = stems(words)
        for number in numbers:
            if number not in place_numbers and not any(
                number in s.numbers and s.stems & sentence_stems for s in self.sources
            ):
                return "a figure the sources give for something else"
        if self._compares_otherwise(sentence):
            return "a comparison the sources do not make"
        if CLAIM.search(sentence) and share < self.thresholds.claim_share:
            return "a claim no one place in the sources makes"
        if self._swaps_figures(sentence, numbers):
            return "swaps the source's figures"
        if self._negates(sentence):
            return "negates the source"
        if share < self.thresholds.mixing_share and self._mixes_articles(sentence):
            return "joins the subjects of two articles"
        if ARITHMETIC.search(sentence) and not any(
            FORMULA.search(s.text) for s in self.sources if len(s.stems & sentence_stems) >= 2
        ):
            return "an arithmetic relation where the source states none"
        if self._similarity(sentence) < self.thresholds.similarity:
            return "not close in meaning to any source sentence"
        return None

    def _answers_the_other(self, sentence: str) -> str | None:
        """The question asks about one of a pair of subjects and the sentence speaks of the other."""
        if swap := swapped(self.question.lower(), sentence.lower(), SUBJECT_OPPOSITES):
            return f"answers about “{swap[1]}” where the question asks about “{swap[0]}”"
        return None

    def _place_verdict(self, text: str, support: Support | None) -> str | None:
        """Why the one place that says most of `text` does not support it, or None."""
        if support is None:
            return "no one source sentence says it"
        paraphrase = (
            support.coverage >= self.thresholds.paraphrase_coverage
            and support.similarity >= self.thresholds.paraphrase_similarity
        )
        if support.coverage < self.thresholds.place_coverage and not paraphrase:
            return "no one source sentence says it"
        if any(number not in support.place.numbers for number in NUMBER.findall(text)):
            return "a figure from another source sentence"
        if len(self._specific(support.foreign)) > self.thresholds.place_foreign:
            return "joins facts from different source sentences"
        relations = {w.lower() for w in RELATION.findall(text)} - {
            w.lower() for w in RELATION.findall(support.place.text)
        }
        if relations:
            return f"“{sorted(relations)[0]}”, which the source sentence does not say"
        if contradicts(text, support.place.text):
            return "negates the source sentence it comes from"
        if support.similarity < self.thresholds.place_similarity:
            return "not close in meaning to the source sentence it comes from"
        return None

    def _makes_two_one(self, sentence: str) -> bool:
        # Judged after a label the sentence opens with ("Contact lens base curve and diameter: …").
        defined = DEFINES.match(sentence.strip()) or DEFINES.match(sentence.partition(": ")[2].strip())
        if not defined:
            return False
        subject, predicate = defined.group(1).split()[-1].lower(), defined.group(2).lower()
        if subject == predicate or predicate in STOPWORDS:
            return False
        a, b = re.escape(subject), re.escape(predicate)
        side_by_side = re.compile(
            rf"\b{a}\b[^.;:]{{0,25}}\b(?:and|or)\b[^.;:]{{0,12}}\b{b}\b|\b{b}\b[^.;:]{{0,25}}\b(?:and|or)\b[^.;:]{{0,12}}\b{a}\b"
        )
        said = re.compile(rf"\b{a}\b[^.;]{{0,40}}\b(?:is|are|means)\b[^.;]{{0,40}}\b{b}\b")
        return bool(side_by_side.search(self._plain_sources)) and not said.search(self._plain_sources)

    def _echoes_question(self, sentence: str) -> bool:
        asked = _tokens(self.question).split()
        said = _tokens(sentence)
        for at in range(len(asked) - QUESTION_RUN + 1):
            run = " " + " ".join(asked[at : at + QUESTION_RUN]) + " "
            if run in said and run not in self._source_tokens and ASKING & set(asked[at : at + QUESTION_RUN]):
                return True
        return False

    def _clauses(self, sentence: str) -> list[str]:
        """The sentence's clauses, each with enough content words to be judged on its own."""
        clauses: list[str] = []
        for part in CLAUSE_BREAK.split(sentence):
            if clauses and len(content_words(part)) < MIN_CLAUSE_WORDS:
                clauses[-1] += " " + part
            elif part.strip():
                clauses.append(part.strip())
        if len(clauses) > 1 and len(content_words(clauses[0])) < MIN_CLAUSE_WORDS:
            first = clauses.pop(0)
            clauses[0] = first + " " + clauses[0]
        return clauses

    def _compares_otherwise(self, sentence: str) -> bool:
        """A comparison ("lighter than") that no source sentence makes, or that the sources make
        only negated ("not lighter", "no thicker than needed")."""
        for match in COMPARISON.finditer(sentence):
            word = match.group(1).lower()
            negated = bool(NEGATION.search(" ".join(sentence[: match.start()].lower().split()[-3:])))
            stated = False
            for source in self.sources:
                text = source.text.lower()
                for found in re.finditer(rf"(?<![a-z-]){re.escape(word)}(?![a-z-])", text):
                    before = " ".join(text[: found.start()].split()[-3:])
                    if bool(NEGATION.search(before)) == negated:
                        stated = True
            if not stated:
                return True
        return False

    def _negates(self, sentence: str) -> bool:
        """The sentence and the source sentence that says most of it disagree on a negation."""
        words = stems(content_words(sentence))
        share, closest = max(((len(words & s.stems) / len(words), s) for s in self.sources), key=lambda x: x[0])
        if share < self.thresholds.negation_share:
            return False
        stated = ANSWER_PARTICLE.sub("", sentence.lower())
        return bool(NEGATION.search(stated)) != bool(NEGATION.search(closest.text.lower()))

    def _swaps_figures(self, sentence: str, numbers: list[str]) -> bool:
        """Two figures of the source sentence that says most of it given in the other order ("a
        1.67 lens needs 9-10% less curvature than a 1.74 lens" where the source says it of the 1.74)."""
        distinct = list(dict.fromkeys(numbers))
        said = stems(content_words(sentence))
        candidates = [s for s in self.sources if len(s.numbers & set(distinct)) >= 2]
        if len(distinct) < 2 or not candidates:
            return False
        closest = max(candidates, key=lambda s: len(s.stems & said))
        order = [n for n in dict.fromkeys(NUMBER.findall(closest.text)) if n in distinct]
        return [n for n in distinct if n in order] != order

    def _mixes_articles(self, sentence: str) -> bool:
        """The sentence names the subjects of two different articles among the sources (an office
        lens "referred to as anisometropia")."""
        said = stems(content_words(sentence))
        named = {title for title, words in self.title_words.items() if said & words}
        return len(named) > 1

    def supported(self, sentence: str) -> bool:
        return self.verdict(sentence) is None

    def _judge(self, sentence: str) -> str | None:
        # A small model imitates the "[1]" of the prompt, or announces its answer first.
        sentence = MARKUP.sub("", PREAMBLE.sub("", CITATION_MARK.sub("", sentence)).strip()).strip()
        reason = self.verdict(sentence)
        self.verdicts.append((sentence, reason))
        if reason is None:
            self.accepted.append(sentence)
            return sentence
        self.dropped += 1
        self.reasons.append(reason)
        return None

    def feed(self, text: str) -> list[str]:
        """The sentences completed by `text` that pass (a sentence ends at . ! or ? before a space)."""
        self._buffer += text
        passed: list[str] = []
        while not self.full:
            match = SENTENCE.search(self._buffer)
            # A sentence is complete once something follows its closing punctuation.
            if match is None or match.end() >= len(self._buffer):
                if len(self._buffer) > MAX_BUFFER:
                    self.dropped += 1
                    self.reasons.append("runs on without a full stop")
                    self.stopped = True
                break
            sentence = match.group(0).strip()
            self._buffer = self._buffer[match.end() :]
            shown = self._judge(sentence)
            if shown is not None:
                passed.append(shown)
        return passed

    def sentences(self, texts: Iterable[str]) -> Iterator[str]:
        """The supported sentences of a stream of text, stopping once the answer is full."""
        for text in texts:
            yield from self.feed(text)
            if self.full:
                return
        yield from self.close()

    def close(self) -> list[str]:
        """At the end of the stream: a last sentence that ended with its punctuation still counts;
        one cut off by the token limit does not."""
        self._buffer += " "
        passed = self.feed("")
        if self._buffer.strip() and not self.full:
            self.dropped += 1
            self.reasons.append("cut off")
        self._buffer = ""
        return passed
