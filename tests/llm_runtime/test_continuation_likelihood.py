"""The likelihood of a continuation after each of several contexts, with the default Gemma 3 270M
through llama-cpp-python: the quoting's reading of candidate sentences."""

from __future__ import annotations

import math

import pytest

from llm_runtime.continuation_likelihood import ContinuationScorer
from llm_runtime.llama_loader import load_llama

ASKED = "A patient asked: Why are the edges of my glasses so thick?\nThe answer:"
ANSWER = " Minus lenses are thinnest in the centre and thickest at the edge."
UNRELATED = " Grey tints change colour perception least of all the tint colours."


@pytest.fixture(scope="module")
def scorer(default_gguf):  # type: ignore[no-untyped-def]
    llm = load_llama(model_path=str(default_gguf), n_ctx=256, n_threads=1, verbose=False)
    return ContinuationScorer(llm, n_ctx=1024, n_threads=1)


def test_the_question_raises_the_likelihood_of_the_sentence_that_answers_it_more_than_of_another(scorer):
    (answer_asked, n_answer), (other_asked, n_other), (answer_alone, _), (other_alone, _) = scorer.log_likelihoods(
        [(ASKED, ANSWER), (ASKED, UNRELATED), ("The answer:", ANSWER), ("The answer:", UNRELATED)]
    )
    assert n_answer == len(scorer.tokens(ANSWER, bos=False)) and n_other == len(scorer.tokens(UNRELATED, bos=False))
    assert all(value < 0 for value in (answer_asked, other_asked, answer_alone, other_alone))
    assert answer_asked - answer_alone > other_asked - other_alone


def test_pairs_scored_together_score_as_they_do_one_at_a_time(scorer):
    pairs = [(ASKED, ANSWER), ("The answer:", UNRELATED), ("Lens tints: grey, brown and green.", ANSWER)]
    together = ContinuationScorer(scorer._llm, n_ctx=1024, n_threads=1).log_likelihoods(pairs)
    alone = [ContinuationScorer(scorer._llm, n_ctx=1024, n_threads=1).log_likelihoods([pair])[0] for pair in pairs]
    for (total, count), (single, single_count) in zip(together, alone, strict=True):
        assert count == single_count
        # llama.cpp's kernels differ slightly with the batch's size; a sequence that saw another's
        # tokens would be off by far more.
        assert math.isclose(total, single, rel_tol=0.02), (together, alone)


def test_a_pair_asked_again_gets_the_same_answer(scorer):
    first = scorer.log_likelihoods([("The answer:", ANSWER)])
    assert scorer.log_likelihoods([("The answer:", ANSWER), (ASKED, ANSWER)])[0] == first[0]
