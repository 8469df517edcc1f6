"""The articles' own list of the questions patients ask: each item a question and its answer."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.knowledge.sentences import passage_units

CORPUS = Path(__file__).resolve().parents[3] / "assistant" / "knowledge_corpus"
# A question, then its answer in the same list item.
QUESTION_AND_ANSWER = re.compile(r"^[^?]{8,200}\?\s+\S")


def test_every_shipped_article_answers_questions_patients_ask_under_their_own_heading():
    for path in sorted(CORPUS.glob("*.md")):
        section = path.read_text(encoding="utf-8").split("## Questions patients ask", 1)
        assert len(section) == 2, path.name
        units = passage_units(section[1])
        assert units and all(u.kind == "item" and QUESTION_AND_ANSWER.match(u.text) for u in units), (path.name, units)
