"""What the local hardware does fast, for choosing precision."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def cpu_bf16_feature() -> str:
    """The CPU feature that gives native bf16 matrix products ("AMX" or "AVX512-BF16"), or ""."""
    import torch

    if torch.cpu._is_amx_tile_supported():
        return "AMX"
    if torch.cpu._is_avx512_bf16_supported():
        return "AVX512-BF16"
    return ""


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matrix products at about twice the fp32 rate."""
    return bool(cpu_bf16_feature())


def native_bf16(device: Any) -> bool:
    """Whether bf16 autocast speeds up work on `device` (a torch.device): CUDA, or such a CPU."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and cpu_has_native_bf16()


def device_name() -> str:
    """The device a training run uses, as the admin shows it."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return f"cpu ({os.cpu_count()} cores, torch {torch.__version__})"
