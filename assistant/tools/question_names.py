"""The names in a question: a person's name, a product's SKU, and the product words of a price,
stock or cost question. Read by the question parser for the listing and lookup tools."""

from __future__ import annotations

import re

SKU = re.compile(r"\b(?=[A-Z0-9-]*[A-Z])(?=[A-Z0-9-]*\d)[A-Z0-9]{1,10}(?:-[A-Z0-9]{1,12})+\b")
NOT_NAMES = {
    "what",
    "how",
    "which",
    "who",
    "when",
    "where",
    "show",
    "find",
    "list",
    "give",
    "tell",
    "latest",
    "the",
    "is",
    "are",
    "does",
    "do",
    "did",
    "can",
    "could",
    "please",
    "patient",
    "patients",
    "prescription",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "look",
    "up",
    "for",
    "of",
    "me",
    "a",
    "an",
    "i",
    "we",
    "our",
    "last",
    "recent",
    "current",
    "spectacle",
}


def parse_sku(text: str) -> str | None:
    match = SKU.search(text)
    return match.group(0) if match else None


def parse_name(text: str) -> str | None:
    """A person's name: capitalised words (not question words), or the words after "for"/"named"."""
    possessive = re.search(r"\b([A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+)*)['’]s\b", text)
    if possessive and possessive.group(1).lower() not in NOT_NAMES:
        return possessive.group(1)
    after = re.search(r"\b(?:for|named|called|of|patient)\s+((?:[A-Z][a-z'’-]+\s?){1,3})", text)
    if after:
        words = [w for w in after.group(1).split() if w.lower() not in NOT_NAMES]
        if words:
            return " ".join(words)
    words = re.findall(r"\b[A-Z][a-z'’-]+\b", text)
    words = [w for w in words[1:] if w.lower() not in NOT_NAMES] if words and text.startswith(words[0]) else words
    return " ".join(words[:3]) or None


def product_query(question: str) -> str | None:
    """The product words of a price, stock or cost question ("the Ray-Ban frames" -> "Ray-Ban")."""
    sku = parse_sku(question)
    if sku:
        return sku
    stripped = re.sub(
        r"(?i)\b(what|what's|is|are|the|a|an|of|our|we|do|does|have|has|stock|in|how|much|many|price|prices|cost|costs|"
        r"for|sell|pay|margin|margins|on|left|hand|any|show|me|tell|about|find|list|buying|wholesale|there|us|"
        r"frames?|lens(?:es)?|contact|solutions?|accessor(?:y|ies))\b|[?.,!]",
        " ",
        question,
    )
    words = stripped.split()
    return " ".join(words) if words else None
