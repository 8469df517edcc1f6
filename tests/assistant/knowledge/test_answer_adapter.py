"""The answer direction: a map of the question's embedding toward the units that answer it,
learnt from the articles' own question-and-answer items (the real embedding model, real torch)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from django.core.management import call_command

from assistant.knowledge.answer_adapter import (
    adapter,
    adapter_train,
    answer_direction,
    article_pairs,
    without_adapter,
)
from assistant.llm.embeddings import embed_texts

ARTICLE = """---
title: Contact lens wear
---
# Contact lens wear

Contact lenses sit on the tear film over the cornea.

## Questions patients ask

- **Can I sleep in my contact lenses?** Only in lenses approved for overnight wear, because sleeping in other lenses starves the cornea of oxygen and raises the risk of infection.
- **Can I swim in my lenses?** Not without tight goggles: water carries Acanthamoeba, which can cause a sight-threatening infection.
- **How long can I wear my lenses each day?** Most people manage 10 to 12 hours; your practitioner sets your limit at the fitting.
- **What should I do if my eye goes red with a lens in?** Take the lens out straight away and call the practice the same day.
"""


def _ranks(matrix: np.ndarray | None, pairs) -> list[int]:
    """Where each pair's answer ranks (0 = first) among its article's units, for the mapped question."""
    ranks = []
    for pair in pairs:
        (q,) = np.asarray(embed_texts([pair.question]), dtype=np.float32)
        if matrix is not None:
            q = q + matrix @ q
            q = q / np.linalg.norm(q)
        candidates = np.asarray(embed_texts([pair.answer, *pair.others]), dtype=np.float32)
        scores = candidates @ q
        ranks.append(int((scores > scores[0]).sum()))
    return ranks


def test_an_article_gives_one_pair_per_item_with_its_answer_under_its_section():
    pairs = article_pairs(ARTICLE, title="contact-lens-wear")
    assert [p.question for p in pairs] == [
        "Can I sleep in my contact lenses?",
        "Can I swim in my lenses?",
        "How long can I wear my lenses each day?",
        "What should I do if my eye goes red with a lens in?",
    ]
    assert pairs[1].answer.startswith("Questions patients ask: Not without tight goggles")
    assert "Can I swim" not in pairs[1].answer  # the answer alone: its question states nothing
    # What the answer must beat: every other unit of the article, the body's sentences too.
    assert "Contact lens wear: Contact lenses sit on the tear film over the cornea." in pairs[0].others
    assert len(pairs[0].others) == 4


def test_training_turns_each_question_toward_its_own_answer():
    pairs = article_pairs(ARTICLE, title="contact-lens-wear")
    matrix = adapter_train(pairs, epochs=40, penalty=1e-3, batch=4)
    assert matrix.shape == (384, 384) and np.abs(matrix).sum() > 0
    before, after = _ranks(None, pairs), _ranks(matrix, pairs)
    # Similarity to the question alone puts another unit above the answer for some items.
    assert sum(before) > 0, before
    assert all(rank == 0 for rank in after), (before, after)


def test_the_shipped_map_finds_the_answers_of_an_article_it_never_saw():
    trained = adapter()
    assert trained is not None
    pairs = article_pairs(ARTICLE, title="contact-lens-wear")
    assert sum(_ranks(trained[0], pairs)) < sum(_ranks(None, pairs))


def test_the_shipped_map_is_trained_on_the_articles_as_they_are():
    """Whoever changes the articles' items retrains it: `manage.py train_answer_adapter`."""
    trained = adapter()
    assert trained is not None, "assistant/knowledge/answer_adapter.npz is missing"
    out = io.StringIO()
    call_command("train_answer_adapter", "--check", stdout=out)  # raises CommandError when the digest differs
    assert int(re.match(r"current: (\d+) items", out.getvalue()).group(1)) >= 500


def test_the_check_fails_for_a_map_of_other_articles(tmp_path):
    (tmp_path / "contact-lens-wear.md").write_text(ARTICLE, encoding="utf-8")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not trained on these articles"):
        call_command("train_answer_adapter", "--check", "--corpus", str(tmp_path))


def test_the_direction_is_a_unit_vector_and_the_baseline_leaves_the_question_as_it_is():
    (q,) = embed_texts(["why are my glasses so thick at the edges"])
    mapped = answer_direction(q)
    assert abs(float(np.linalg.norm(mapped)) - 1.0) < 1e-4
    assert mapped != q  # the shipped map moves it
    with without_adapter():
        assert answer_direction(q) == q
