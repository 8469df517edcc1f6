"""Keeping a model's own words to what its sources say.

A small model paraphrasing retrieved text repeats itself, trails off and invents details
(a phone number, "10 to 15 years"). The model's answer is let through one whole sentence at a
time, and a sentence is dropped when it:

- repeats an earlier one,
- contains a number that none of the sources contains,
- uses mostly words the sources do not (fewer than three in four of its content words appear
  there, compared by their first five letters so that "adapt" matches "adaptation"),
- is cut off (no closing punctuation when the model stops).

This checks figures and vocabulary, not meaning: the verbatim passage and the cited articles
that follow every knowledge answer remain the reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# A sentence ends at . ! or ? followed by a space; a point inside a number ("1.67") does not end one.
SENTENCE = re.compile(r"(?:[^.!?\n]|(?<=\d)\.(?=\d))+?[.!?]+(?=\s|$)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
WORD = re.compile(r"[a-z]+")
MIN_SUPPORT = 0.75
MAX_SENTENCES = 3
STOPWORDS = frozenset(
    """about above after again against also and any are because been before being below between both
    but can cannot could did does doing down during each few for from further had has have having
    her here hers him his how into its itself just let may might more most much not now off once
    only other ought our ours out over own same she should some such than that the their theirs them
    then there these they this those through too under until usually very was were what when where
    which while who whom why will with would you your yours yourself often still like one get got""".split()  # noqa: SIM905 - a word list reads best as words
)


def content_words(text: str) -> list[str]:
    return [w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOPWORDS]


class SentenceGate:
    """Feed the model's text as it streams; get back the sentences the sources support."""

    def __init__(self, reference: str, *, max_sentences: int = MAX_SENTENCES) -> None:
        self.numbers = set(NUMBER.findall(reference))
        self.stems = {w[:5] for w in content_words(reference)}
        self.max_sentences = max_sentences
        self.accepted: list[str] = []
        self.dropped = 0
        self._seen: set[str] = set()
        self._buffer = ""

    @property
    def full(self) -> bool:
        return len(self.accepted) >= self.max_sentences

    def supported(self, sentence: str) -> bool:
        words = content_words(sentence)
        key = " ".join(words)
        if key in self._seen:
            return False
        self._seen.add(key)
        if any(number not in self.numbers for number in NUMBER.findall(sentence)):
            return False
        if not words:
            return False
        return sum(w[:5] in self.stems for w in words) / len(words) >= MIN_SUPPORT

    def feed(self, text: str) -> list[str]:
        """The sentences completed by `text` that pass (a sentence ends at . ! or ? before a space)."""
        self._buffer += text
        passed: list[str] = []
        while not self.full:
            match = SENTENCE.search(self._buffer)
            # A sentence is complete once something follows its closing punctuation.
            if match is None or match.end() >= len(self._buffer):
                break
            sentence = match.group(0).strip()
            self._buffer = self._buffer[match.end() :]
            if self.supported(sentence):
                self.accepted.append(sentence)
                passed.append(sentence)
            else:
                self.dropped += 1
        return passed

    def sentences(self, texts: Iterable[str]) -> Iterator[str]:
        """The supported sentences of a stream of text, stopping once the answer is full."""
        for text in texts:
            yield from self.feed(text)
            if self.full:
                return
        yield from self.close()

    def close(self) -> list[str]:
        """At the end of the stream: a last sentence that ended with its punctuation still counts."""
        self._buffer += " "
        passed = self.feed("")
        self._buffer = ""
        return passed
