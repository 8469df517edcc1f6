"""Choosing what to quote: the articles' own questions, matched question to question."""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge.quoting import opening_question
from assistant.knowledge.sentences import TextUnit, passage_units

CORPUS = Path(__file__).resolve().parents[3] / "assistant" / "knowledge_corpus"


def test_a_list_item_that_opens_with_a_question_is_read_as_the_question_it_answers():
    item = TextUnit("item", "Why are my glasses so thick at the edges? Minus lenses are thickest at the edge.", 0)
    assert opening_question(item) == "Why are my glasses so thick at the edges?"
    assert opening_question(TextUnit("sentence", item.text, 0)) is None
    assert opening_question(TextUnit("item", "Spring hinges reduce breakage.", 0)) is None
    assert opening_question(TextUnit("item", "Is it normal?", 0)) is None  # a question with no answer after it


def test_every_shipped_article_answers_questions_patients_ask_under_their_own_heading():
    for path in sorted(CORPUS.glob("*.md")):
        section = path.read_text(encoding="utf-8").split("## Questions patients ask", 1)
        assert len(section) == 2, path.name
        units = passage_units(section[1])
        assert units and all(opening_question(unit) for unit in units), (path.name, units)
