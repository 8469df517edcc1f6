"""A chunk's text as the units a quote is made of: prose sentences, list items and table rows.

Articles are Markdown: a paragraph is split into sentences, a list into its items and a table
into its rows, each row shown with the column names ("Polycarbonate — Index: 1.59; Abbe value: 30")
so that one row can be quoted without the rest of the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! or ? (with any closing quote or bracket) before a space and what can
# start a sentence. "1.67" has no space after its point; abbreviations are guarded below.
SENTENCE_END = re.compile(r"(?<=[.!?])([\"”’)]*)\s+(?=[\"“(*]*[A-Z0-9+\-±])")
ABBREVIATIONS = ("e.g.", "i.e.", "approx.", "cf.", "vs.", "no.", "dr.", "mr.", "mrs.", "st.", "fig.")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A list item that asks a question and answers it ("Can I …? Yes, …"), its question first.
ANSWERED_QUESTION = re.compile(r"^([^?]{8,200}\?)\s+\S")
TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
WORD = re.compile(r"[a-z]+")
STOPWORDS = frozenset(
    """about above after again against also and any are because been before being below between both
    but can cannot could did does doing down during each few for from further had has have having
    her here hers him his how into its itself just let may might more most much not now off once
    only other ought our ours out over own same she should some such than that the their theirs them
    then there these they this those through too under until usually very was were what when where
    which while who whom why will with would you your yours yourself often still like one get got""".split()  # noqa: SIM905 - a word list reads best as words
)


@dataclass(frozen=True)
class TextUnit:
    kind: str  # "sentence", "item" or "row"
    text: str  # as shown to the user, Markdown emphasis removed
    paragraph: int  # units of one paragraph, list or table share it


def plain(text: str) -> str:
    """Markdown emphasis and code marks removed, whitespace collapsed."""
    return " ".join(text.replace("**", "").replace("__", "").replace("`", "").split())


def split_sentences(text: str) -> list[str]:
    """Prose cut into whole sentences, in order."""
    text = " ".join(text.split())
    pieces: list[str] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        candidate = text[start : match.start()] + match.group(1)
        last_word = candidate.rsplit(" ", 1)[-1].lower()
        if last_word in ABBREVIATIONS:
            continue
        pieces.append(candidate.strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


def _cells(line: str) -> list[str]:
    return [plain(cell) for cell in line.strip().strip("|").split("|")]


def _table_rows(lines: list[str]) -> list[str]:
    header: list[str] = []
    body = lines
    if len(lines) > 1 and TABLE_SEPARATOR.match(lines[1]):
        header, body = _cells(lines[0]), lines[2:]
    rows = []
    for line in body:
        if TABLE_SEPARATOR.match(line):
            continue
        cells = _cells(line)
        if not header or len(header) != len(cells):
            rows.append(" | ".join(c for c in cells if c))
            continue
        named = [f"{name}: {value}" for name, value in zip(header[1:], cells[1:], strict=True) if value]
        rows.append(f"{cells[0]} — " + "; ".join(named) if named else cells[0])
    return [row for row in rows if row]


def passage_units(text: str) -> list[TextUnit]:
    """The units of a chunk's text, in order."""
    units: list[TextUnit] = []
    for index, paragraph in enumerate(p for p in re.split(r"\n\s*\n", text) if p.strip()):
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if sum(line.lstrip().startswith("|") for line in lines) >= max(2, len(lines) // 2 + 1):
            units += [TextUnit("row", row, index) for row in _table_rows(lines)]
            continue
        prose: list[str] = []
        items: list[str] = []
        for line in lines:
            if LIST_ITEM.match(line):
                items.append(LIST_ITEM.sub("", line, count=1))
            elif items:
                items[-1] += " " + line.strip()  # an item's continuation line
            else:
                prose.append(line)
        if prose:
            units += [TextUnit("sentence", plain(s), index) for s in split_sentences(" ".join(prose))]
        units += [TextUnit("item", plain(item), index) for item in items if plain(item)]
    return units


def content_words(text: str) -> list[str]:
    """Lower-case words of three letters or more that are not function words."""
    return [w for w in WORD.findall(text.lower()) if len(w) > 2 and w not in STOPWORDS]


def stated(text: str) -> str:
    """What a unit states: the answer of a question-and-answer item (a question states nothing),
    the whole of any other unit."""
    asked = ANSWERED_QUESTION.match(text)
    return text[asked.end(1) :].strip() if asked else text
