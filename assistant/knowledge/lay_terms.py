"""The lay words patients use for the articles' terms, added to a question before it is searched.

"The half-moon bit at the bottom of my dad's glasses" shares no word with "bifocal segment", and a
small embedding model does not bridge the two either. `lay_terms.tsv` lists lay phrases and the
terms the articles use for them; when a phrase occurs in a question (as whole words, a plural too),
its terms are added to the question for the search and for choosing what to quote.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

LAY_TERMS_FILE = Path(__file__).with_name("lay_terms.tsv")


@functools.cache
def _glossary() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    entries: dict[str, str] = {}
    for line in LAY_TERMS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "\t" not in line:
            continue
        phrase, terms = line.split("\t", 1)
        if phrase.strip() and terms.strip():
            entries[phrase.strip().lower()] = " ".join(terms.split())
    if not entries:
        return None, {}
    # Longest first, so "reading glasses" wins over "glasses"-length phrases inside it.
    alternatives = "|".join(re.escape(p) for p in sorted(entries, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])({alternatives})(?:s|es)?(?![\w-])", re.IGNORECASE)
    return pattern, entries


def lay_phrases(question: str) -> list[str]:
    """The glossary's phrases found in `question`, in order."""
    pattern, _ = _glossary()
    if pattern is None:
        return []
    return list(dict.fromkeys(m.group(1).lower() for m in pattern.finditer(question.replace("’", "'"))))


def with_article_terms(question: str) -> str:
    """`question` followed by the article terms of the lay phrases in it ("… (bifocal segment)")."""
    _, entries = _glossary()
    terms = list(dict.fromkeys(entries[p] for p in lay_phrases(question)))
    return f"{question} ({'; '.join(terms)})" if terms else question
