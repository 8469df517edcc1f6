"""What the local hardware does fast, for choosing precision."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matrix products at about twice the fp32 rate."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def native_bf16(device: Any) -> bool:
    """Whether bf16 autocast speeds up work on `device` (a torch.device): CUDA, or such a CPU."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and cpu_has_native_bf16()
