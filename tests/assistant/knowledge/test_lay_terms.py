"""The lay-terms glossary: patients' words for the articles' terms join a question before it is searched."""

from __future__ import annotations

from assistant.knowledge.lay_terms import LAY_TERMS_FILE, lay_phrases, with_article_terms
from assistant.knowledge.retrieval import knowledge_search, or_tsquery
from assistant.knowledge.services import knowledge_document_ingest


def test_every_entry_is_a_lower_case_phrase_and_the_terms_it_stands_for():
    entries = [line for line in LAY_TERMS_FILE.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    phrases = [line.split("\t")[0] for line in entries]
    assert len(entries) >= 200
    assert all(line.count("\t") == 1 and all(part.strip() for part in line.split("\t")) for line in entries)
    assert all(p == p.lower() and len(p.split()) <= 4 for p in phrases)
    assert len(set(phrases)) == len(phrases)


def test_a_lay_phrase_adds_its_terms_as_whole_words_and_plurals_only():
    assert "bifocal" in with_article_terms("What's that half-moon bit at the bottom of my dad's glasses?")
    assert "photochromic" in with_article_terms("Do my transitions go dark in the car?")
    assert "varifocal" in lay_phrases("I feel sick in my new varifocals")
    # Inside another word a phrase is not found, and a question without one is left alone.
    assert with_article_terms("What is a spectacle lens made of?") == "What is a spectacle lens made of?"
    assert "pd" not in lay_phrases("The update was applied")


def test_the_search_finds_the_article_a_lay_question_means(db):
    knowledge_document_ingest(
        content="# Bifocal lenses\n\nA bifocal has a D-shaped reading segment with a straight top edge.",
        slug="bifocal-lenses",
        embed="now",
    )
    # Shares the question's own words ("bit", "bottom", "glasses") and answers something else.
    knowledge_document_ingest(
        content="# Frame fitting\n\nWhen glasses slip to the bottom of the nose, the bit behind the ears is bent.",
        slug="frame-fitting",
        embed="now",
    )
    found = knowledge_search(query="What's the half-moon bit at the bottom of my dad's glasses?", limit=1)
    assert [c.slug for c in found] == ["bifocal-lenses"]


def test_a_found_chunk_is_shown_as_plain_text(db):
    knowledge_document_ingest(
        content="# Lens care\n\n## Questions patients ask\n\n- **How often should I replace my case?** At least monthly.",
        slug="lens-care",
        embed="now",
    )
    (found,) = knowledge_search(query="How often should I replace my contact lens case?", limit=1)
    assert "**" not in found.snippet() and "How often should I replace my case? At least monthly." in found.snippet()


def test_practice_shorthand_and_an_index_written_short_find_their_articles():
    assert "single vision" in with_article_terms("my quote says SV lenses, what's that")
    assert "contact lens" in with_article_terms("My eye is red and painful with my lens in")
    # The full text holds "1.60" as one token: "1.6" asks for it too, a prescription's -2.50 is left alone.
    assert set(or_tsquery("difference between 1.6 and 1.67 lenses").split(" | ")) >= {"1.6", "1.60", "1.67"}
    assert "2.500" not in or_tsquery("is -2.50 strong")
