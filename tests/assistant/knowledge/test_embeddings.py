"""The embedding encoder: unit vectors of the model's size, as close to fp32 as retrieval needs."""

from __future__ import annotations

import numpy as np

from assistant.llm.embeddings import EMBEDDING_DIMENSIONS, embed_texts, embedding_model

TEXTS = [
    "Progressive lenses give clear vision at distance, intermediate and near without a visible line.",
    "A 1.74 index lens is thinner than a 1.67 index lens of the same power but has a lower Abbe value.",
    "Rub and rinse monthly contact lenses with fresh multipurpose solution every night.",
    "Prism base out",
]


def test_embeddings_are_unit_length_and_within_a_ten_thousandth_of_the_fp32_encoding():
    vectors = np.array(embed_texts(TEXTS))
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    reference = embedding_model().encode(TEXTS, normalize_embeddings=True, show_progress_bar=False)
    assert float(np.min(np.sum(vectors * reference, axis=1))) > 0.9999


def test_batching_does_not_change_an_embedding():
    alone = np.array(embed_texts(TEXTS[:1]))
    together = np.array(embed_texts(TEXTS))
    assert float(np.dot(alone[0], together[0])) > 0.9999
