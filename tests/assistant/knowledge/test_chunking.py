from assistant.knowledge.chunking import chunk_document, parse_front_matter
from assistant.knowledge.sentences import passage_units
from assistant.llm.embeddings import count_tokens

ARTICLE = (
    """---
title: Progressive lenses
category: lens-types
---
# Progressive lenses

Intro paragraph about varifocals.

## Corridor length

"""
    + "\n\n".join(f"Paragraph {i} about the corridor and the fitting height of the lens design." for i in range(12))
    + """

## Adaptation

Most wearers adapt within two weeks.
"""
)


def test_front_matter_gives_title_category_and_body():
    parsed = parse_front_matter(ARTICLE)
    assert parsed.title == "Progressive lenses"
    assert parsed.category == "lens-types"
    assert parsed.body.startswith("# Progressive lenses")


def test_title_falls_back_to_first_heading_without_front_matter():
    assert parse_front_matter("# Lens tints\n\nText.").title == "Lens tints"


def test_chunks_keep_their_heading_and_never_span_sections():
    parsed = parse_front_matter(ARTICLE)
    chunks = chunk_document(
        parsed.body, title=parsed.title, count_tokens=count_tokens, max_tokens=60, overlap_tokens=20
    )
    corridor = [c for c in chunks if c.heading == "Progressive lenses > Corridor length"]
    assert len(corridor) > 1
    assert all("Adaptation" not in c.text for c in corridor)
    assert chunks[-1].heading == "Progressive lenses > Adaptation"
    assert chunks[-1].embedding_text.startswith("Progressive lenses > Adaptation\n")
    assert all(c.token_count <= 60 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_consecutive_chunks_of_a_section_overlap():
    parsed = parse_front_matter(ARTICLE)
    chunks = chunk_document(
        parsed.body, title=parsed.title, count_tokens=count_tokens, max_tokens=60, overlap_tokens=20
    )
    corridor = [c for c in chunks if c.heading.endswith("Corridor length")]
    first_last_paragraph = corridor[0].text.split("\n\n")[-1]
    assert corridor[1].text.startswith(first_last_paragraph)


def test_an_overlong_paragraph_is_split_at_sentences():
    long_paragraph = " ".join(f"Sentence number {i} describes lens coatings in detail." for i in range(60))
    chunks = chunk_document(
        long_paragraph, title="Coatings", count_tokens=count_tokens, max_tokens=80, overlap_tokens=0
    )
    assert len(chunks) > 3
    assert all(c.token_count <= 80 for c in chunks)


def test_a_long_list_is_cut_between_its_items_and_each_item_is_quoted_whole():
    items = [
        f"- **My glasses slide down. Question {i}: can they be fixed?** Usually by adjustment number {i}: "
        "tightening the bend behind the ears. Bringing the pads closer also helps."
        for i in range(10)
    ]
    body = "# Frame fitting\n\n## Questions patients ask\n\n" + "\n".join(items)
    chunks = chunk_document(body, title="Frame fitting", count_tokens=count_tokens, max_tokens=80, overlap_tokens=20)
    assert len(chunks) > 1
    units = [u for chunk in chunks for u in passage_units(chunk.text)]
    # Every unit is a whole item, question and answer together, never a sentence cut from one.
    assert {u.text for u in units} == {
        f"My glasses slide down. Question {i}: can they be fixed? Usually by adjustment number {i}: "
        "tightening the bend behind the ears. Bringing the pads closer also helps."
        for i in range(10)
    }
    assert all(u.kind == "item" for u in units)
