"""Cut a document into overlapping chunks that keep each section's heading with its text.

The embedding model reads at most 256 word pieces, so a chunk is kept well under that and
carries its heading path ("Progressive lenses > Corridor length") in front of its text:
a paragraph about "the add" is then found by a question about progressives.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# Raised when the same text would be cut differently: stored articles are then cut again on ingest.
CHUNKING_VERSION = 2
# The line break before a list item ("- ", "* ", "1. ").
ITEM_START = re.compile(r"\n(?=[ \t]*(?:[-*+]|\d+[.)])[ \t]+)")


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    category: str
    body: str


@dataclass(frozen=True)
class ChunkDraft:
    position: int
    heading: str
    text: str
    token_count: int

    @property
    def embedding_text(self) -> str:
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def parse_front_matter(text: str, *, default_title: str = "") -> ParsedDocument:
    """Split `title:` / `category:` front matter from the body; the first `#` heading is the fallback title."""
    meta: dict[str, str] = {}
    match = FRONT_MATTER.match(text)
    body = text
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("\"'")
        body = text[match.end() :]
    title = meta.get("title", "")
    if not title:
        for line in body.splitlines():
            heading = HEADING.match(line)
            if heading and len(heading.group(1)) == 1:
                title = heading.group(2)
                break
    return ParsedDocument(title=title or default_title, category=meta.get("category", ""), body=body.strip())


def _sections(body: str, title: str) -> list[tuple[str, list[str]]]:
    """(heading path, paragraphs) for each section, in order."""
    sections: list[tuple[str, list[str]]] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    current: list[str] = []

    def heading_path() -> str:
        names = [name for _, name in path]
        if title and (not names or names[0] != title):
            names.insert(0, title)
        return " > ".join(names)

    def end_paragraph() -> None:
        if current:
            paragraphs.append("\n".join(current).strip())
            current.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append((heading_path(), [p for p in paragraphs if p]))
            paragraphs.clear()

    for line in body.splitlines():
        heading = HEADING.match(line)
        if heading:
            end_section()
            level = len(heading.group(1))
            path = [(lvl, name) for lvl, name in path if lvl < level]
            path.append((level, heading.group(2).strip()))
        elif not line.strip():
            end_paragraph()
        else:
            current.append(line.rstrip())
    end_section()
    return sections


def _split_long(paragraph: str, max_tokens: int, count: Callable[[Sequence[str]], list[int]]) -> list[str]:
    """Break a paragraph longer than a chunk between its list items, then at sentence ends (or
    words, as a last resort). A list item is kept whole where it fits: cut at a sentence end, a
    question and its answer ("**My glasses slide down. Can they be fixed?** Usually …") would be
    quoted apart."""
    items = ITEM_START.split(paragraph)
    if len(items) > 1:
        return [
            piece
            for item in items
            for piece in (_split_long(item, max_tokens, count) if count([item])[0] > max_tokens else [item])
        ]
    sentences = re.split(r"(?<=[.!?])\s+", paragraph)
    pieces: list[str] = []
    for sentence in sentences:
        if count([sentence])[0] <= max_tokens:
            pieces.append(sentence)
            continue
        words = sentence.split()
        step = max(1, max_tokens * 2 // 3)
        pieces.extend(" ".join(words[i : i + step]) for i in range(0, len(words), step))
    return pieces


def chunk_document(
    body: str,
    *,
    title: str,
    count_tokens: Callable[[Sequence[str]], list[int]],
    max_tokens: int = 180,
    overlap_tokens: int = 40,
) -> list[ChunkDraft]:
    """Pack each section's paragraphs into chunks of at most `max_tokens`; consecutive chunks
    of one section share up to `overlap_tokens` of trailing paragraphs. Chunks never span
    two sections, so every chunk sits under exactly one heading path."""
    drafts: list[ChunkDraft] = []
    for heading, paragraphs in _sections(body, title):
        units: list[str] = []
        for paragraph in paragraphs:
            units.extend(
                _split_long(paragraph, max_tokens, count_tokens) if len(paragraph) > max_tokens * 3 else [paragraph]
            )
        sizes = count_tokens(units) if units else []
        window: list[int] = []  # indexes into units
        total = 0

        for index, size in enumerate(sizes):
            if window and total + size > max_tokens:
                drafts.append(_draft(len(drafts), heading, [units[i] for i in window], total))
                # Carry the last units (up to the overlap budget) into the next chunk.
                carried: list[int] = []
                carried_total = 0
                for previous in reversed(window):
                    if (
                        carried_total + sizes[previous] > overlap_tokens
                        or carried_total + sizes[previous] + size > max_tokens
                    ):
                        break
                    carried.insert(0, previous)
                    carried_total += sizes[previous]
                window, total = carried, carried_total
            window.append(index)
            total += size
        if window:
            drafts.append(_draft(len(drafts), heading, [units[i] for i in window], total))
    return drafts


def _draft(position: int, heading: str, texts: list[str], tokens: int) -> ChunkDraft:
    return ChunkDraft(position=position, heading=heading, text="\n\n".join(texts), token_count=tokens)
