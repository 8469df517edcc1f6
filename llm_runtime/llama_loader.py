"""Loading a GGUF into llama-cpp-python the one way every process here does it: the inference
workers, the trainer's side-by-side answers and the check that a merged GGUF runs."""

from __future__ import annotations

import threading
from typing import Any

_params_lock = threading.Lock()


def repack_setting() -> bool:
    """OPTIQ_LLM_REPACK from the Django settings (off when settings are not configured)."""
    from django.conf import settings

    return bool(settings.configured and getattr(settings, "OPTIQ_LLM_REPACK", False))


def load_llama(*, repack: bool | None = None, **kwargs: Any) -> Any:
    """``llama_cpp.Llama(**kwargs)`` without llama.cpp's extra weight buffers (repacking/AMX)
    unless `repack` (default: the OPTIQ_LLM_REPACK setting) is on.

    On CPUs that advertise AMX inside some virtual machines, the extra buffer types crash
    (SIGSEGV) on every batched decode, i.e. on any prompt longer than one token; plain buffers
    work everywhere. llama-cpp-python has no argument for it, so the default model parameters
    are adjusted while this one model loads.
    """
    import llama_cpp
    from llama_cpp import Llama

    if repack is None:
        repack = repack_setting()
    if repack:
        return Llama(**kwargs)
    module = llama_cpp.llama_cpp
    with _params_lock:
        original = module.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = original()
            params.use_extra_bufts = False
            return params

        module.llama_model_default_params = without_extra_buffers
        try:
            return Llama(**kwargs)
        finally:
            module.llama_model_default_params = original
