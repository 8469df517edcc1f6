"""Base weights for training: a Hugging Face id, a local Hugging Face directory, or a GGUF file.

A GGUF is dequantized by transformers once and cached as a Hugging Face directory next to the
artifacts (keyed by the file's size and modification time), so later jobs load in seconds.
QLoRA (4-bit NF4, bf16 compute) is used on CUDA when bitsandbytes is installed; elsewhere LoRA
runs in bf16 (CUDA) or fp32 (CPU), with the forward passes under bf16 autocast where bf16 is
native. `choose_precision` decides it once and says why.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from django.conf import settings

from llm_runtime.gguf_metadata import is_gguf
from llm_runtime.hardware import cpu_bf16_feature
from training_jobs.hyperparameters import Hyperparameters

logger = logging.getLogger(__name__)

# transformers' model type -> llama.cpp architecture name (for the GGUF LoRA export).
GGUF_ARCH = {
    "gemma3_text": "gemma3",
    "gemma3": "gemma3",
    "gemma2": "gemma2",
    "gemma": "gemma",
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "phi3": "phi3",
}


@dataclass
class BaseSpec:
    kind: str  # "gguf", "hf_dir" or "hf_id"
    location: str
    gguf_path: Path | None = None

    @property
    def label(self) -> str:
        return str(self.gguf_path or self.location)


def resolve_base(identifier: str) -> BaseSpec:
    """What `identifier` names: a GGUF file, a local Hugging Face directory or a Hugging Face id."""
    path = Path(identifier).expanduser()
    if path.is_file():
        if not is_gguf(path):
            raise ValueError(f"base model: {path} is a file but not a GGUF")
        return BaseSpec("gguf", str(path), gguf_path=path.resolve())
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"base model: {path} has no config.json (not a Hugging Face model directory)")
        return BaseSpec("hf_dir", str(path.resolve()))
    if identifier.count("/") == 1 and not identifier.startswith(("/", ".")):
        return BaseSpec("hf_id", identifier)
    raise ValueError(f"base model: {identifier!r} is neither a file, a directory nor a Hugging Face id (owner/name)")


def gguf_cache_dir(gguf_path: Path) -> Path:
    """Where the Hugging Face conversion of `gguf_path` is kept (a new one when the file changes)."""
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return Path(settings.BASE_CACHE_DIR) / f"{gguf_path.stem}-{key}"


def hf_directory(spec: BaseSpec) -> str:
    """A location `from_pretrained` can load without `gguf_file` (converting a GGUF once)."""
    if spec.kind != "gguf":
        return spec.location
    assert spec.gguf_path is not None
    cache = gguf_cache_dir(spec.gguf_path)
    if (cache / "config.json").is_file():
        return str(cache)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting %s to a Hugging Face directory (once)", spec.gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(spec.gguf_path.parent, gguf_file=spec.gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        spec.gguf_path.parent, gguf_file=spec.gguf_path.name, dtype=torch.float32
    )
    # The loaded config still says "gguf" quantization; the saved weights are plain tensors.
    # (the tensors are already dequantized).
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.gguf_source = str(spec.gguf_path)
    partial = cache.with_name(cache.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(cache, ignore_errors=True)
    partial.rename(cache)
    return str(cache)


def load_tokenizer(spec: BaseSpec) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_directory(spec), token=settings.OPTIQ_HF_TOKEN)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def qlora_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Precision:
    """How a run trains, decided once from the hyperparameters and the hardware."""

    mode: str  # "qlora-nf4", "lora-bf16" or "lora-fp32", with "+bf16-autocast" when the forward passes use it
    reason: str  # why, in words: for the log and the job's evaluation
    load_in_4bit: bool = False
    bf16_weights: bool = False
    bf16_autocast: bool = False


def choose_precision(params: Hyperparameters) -> Precision:
    """QLoRA where asked for and possible (CUDA with bitsandbytes), bf16 weights on other CUDA
    devices, fp32 weights on a CPU; bf16 autocast for the forward passes where asked for and
    native (CUDA, or a CPU with AMX or AVX512-BF16). The reason names what was asked for and
    not done."""
    if torch.cuda.is_available():
        autocast = params.bf16_mixed_precision
        suffix = "+bf16-autocast" if autocast else ""
        if params.load_in_4bit and qlora_available():
            return Precision("qlora-nf4" + suffix, "4-bit NF4 QLoRA on CUDA (bf16 compute)", True, True, autocast)
        why = "bf16 LoRA on CUDA"
        if params.load_in_4bit:
            why += " (load_in_4bit is set, but bitsandbytes is not installed: pip install -r requirements/gpu.txt)"
        return Precision("lora-bf16" + suffix, why, False, True, autocast)
    feature = cpu_bf16_feature()
    if params.bf16_mixed_precision and feature:
        mode, why, autocast = (
            "lora-fp32+bf16-autocast",
            f"bf16 autocast: this CPU has {feature} (LoRA weights, optimizer and evaluation stay fp32)",
            True,
        )
    elif params.bf16_mixed_precision:
        mode, why, autocast = (
            "lora-fp32",
            "fp32: this CPU has no native bf16 (neither AMX nor AVX512-BF16), so bf16_mixed_precision is not used",
            False,
        )
    else:
        mode, why, autocast = "lora-fp32", "fp32: bf16_mixed_precision is off", False
    if params.load_in_4bit:
        why += "; 4-bit QLoRA needs CUDA, so load_in_4bit is not used"
    return Precision(mode, why, False, False, autocast)


def load_model(spec: BaseSpec, *, precision: Precision) -> Any:
    """The base model, loaded as `precision` says (4-bit NF4, bf16 or fp32 weights)."""
    from transformers import AutoModelForCausalLM

    location = hf_directory(spec)
    kwargs: dict[str, Any] = {"token": settings.OPTIQ_HF_TOKEN}
    if precision.load_in_4bit:
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
        model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.bfloat16, device_map={"": 0}, **kwargs)
        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    if precision.bf16_weights:
        return AutoModelForCausalLM.from_pretrained(location, dtype=torch.bfloat16, device_map={"": 0}, **kwargs)
    return AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, **kwargs)


def gguf_architecture(model: Any) -> str:
    model_type = getattr(model.config, "model_type", "")
    try:
        return GGUF_ARCH[model_type]
    except KeyError:
        raise ValueError(f"GGUF export does not know the architecture {model_type!r}") from None
