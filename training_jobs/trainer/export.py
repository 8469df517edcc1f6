"""Artifacts: the PEFT adapter directory, a GGUF LoRA adapter for llama.cpp, and a merged GGUF
re-quantized to Q4_K_M (built from the base GGUF itself, no full-precision weights needed).

GGUF LoRA layout (as llama.cpp reads it): `blk.N.<tensor>.weight.lora_a` with numpy shape
(r, in) and `.lora_b` with shape (out, r), i.e. PyTorch's own orientation; the scale is
`adapter.lora.alpha / r`. Llama-family GGUFs store q/k rows permuted for rotary embeddings,
so lora_b of q/k gets the same permutation; Gemma GGUFs are not permuted. That llama.cpp with
the exported adapter reproduces the PEFT model's next-token distribution is tested for both
(tests/training_jobs/test_gguf_lora_export.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from llm_runtime.llama_loader import repack_setting

# The child that tries a merged GGUF imports llm_runtime from here.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.default)?\.weight$")
_PERMUTED_ARCHES = {"llama"}


def save_peft_adapter(model: Any, tokenizer: Any, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def _permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    # The llama.cpp converter's q/k permutation, on the output (row) dimension only.
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def lora_tensors(model: Any, *, arch: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """GGUF weight name (e.g. `blk.0.attn_q.weight`) -> (lora_a, lora_b) as float32 arrays."""
    import gguf
    from peft import get_peft_model_state_dict

    config = model.get_base_model().config
    n_blocks = int(config.num_hidden_layers)
    arch_enum = next((k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch), None)
    if arch_enum is None:
        raise ValueError(f"gguf does not know the architecture {arch!r}")
    name_map = gguf.get_tensor_name_map(arch_enum, n_blocks)
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, tensor in get_peft_model_state_dict(model).items():
        match = _PEFT_KEY.match(key)
        if not match:
            continue
        module = match.group("module")
        # Multimodal checkpoints nest the text model one level deeper.
        module = module.replace("model.language_model.", "model.")
        gguf_name = name_map.get_name(module)
        if gguf_name is None:
            raise ValueError(f"no GGUF tensor for the LoRA target {module!r} in architecture {arch}")
        pairs.setdefault(gguf_name + ".weight", {})[match.group("ab")] = tensor.detach().float().cpu().numpy()
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, ab in pairs.items():
        a, b = ab["A"], ab["B"]
        if arch in _PERMUTED_ARCHES and (".attn_q." in name or ".attn_k." in name):
            heads = config.num_attention_heads if ".attn_q." in name else config.num_key_value_heads
            b = _permute_rows(b, heads)
        result[name] = (np.ascontiguousarray(a), np.ascontiguousarray(b))
    return result


def write_gguf_lora(model: Any, path: Path, *, arch: str, alpha: float, name: str = "OptiQ LoRA adapter") -> Path:
    """The PEFT model's LoRA adapter as a GGUF that llama.cpp loads next to the base GGUF."""
    return write_lora_tensors(lora_tensors(model, arch=arch), path, arch=arch, alpha=alpha, name=name)


def write_lora_tensors(
    tensors: dict[str, tuple[np.ndarray, np.ndarray]],
    path: Path,
    *,
    arch: str,
    alpha: float,
    name: str = "OptiQ LoRA adapter",
) -> Path:
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_string("general.type", "adapter")
    writer.add_string("general.name", name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    for base_name, (a, b) in sorted(tensors.items()):
        writer.add_tensor(f"{base_name}.lora_a", a)
        writer.add_tensor(f"{base_name}.lora_b", b)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _copy_metadata(reader: Any, writer: Any, overrides: dict[str, Any]) -> None:
    from gguf import GGUFValueType

    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = overrides.get(key, field.contents())
        if field.types[0] == GGUFValueType.ARRAY:
            writer.add_key_value(key, value, GGUFValueType.ARRAY, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, value, field.types[0])


def write_merged_gguf(
    base_gguf: Path, lora: dict[str, tuple[np.ndarray, np.ndarray]], *, scale: float, path: Path
) -> Path:
    """The base GGUF with every LoRA delta (scale * B @ A) added, written as F16 (2-D weights)
    and F32 (norms and other 1-D tensors) with the base's metadata."""
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(str(base_gguf))
    arch = reader.fields["general.architecture"].contents()
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch)
    _copy_metadata(reader, writer, {"general.file_type": int(gguf.LlamaFileType.MOSTLY_F16)})
    applied = set()
    for tensor in reader.tensors:
        weights = dequantize(tensor.data, tensor.tensor_type)
        shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))
        weights = np.asarray(weights, dtype=np.float32).reshape(shape)
        if tensor.name in lora:
            a, b = lora[tensor.name]
            weights = weights + scale * (b @ a)
            applied.add(tensor.name)
        if weights.ndim >= 2:
            writer.add_tensor(tensor.name, weights.astype(np.float16))
        else:
            writer.add_tensor(tensor.name, weights.astype(np.float32))
    missing = set(lora) - applied
    if missing:
        raise ValueError(f"the base GGUF has no tensors named {sorted(missing)[:5]}")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def quantize_q4_k_m(source: Path, target: Path, *, threads: int = 0) -> Path:
    """Re-quantize with llama.cpp's own quantizer (the one bundled in llama-cpp-python)."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = threads
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if status != 0 or not target.is_file():
        raise RuntimeError(f"llama.cpp could not quantize {source.name} to Q4_K_M (status {status})")
    return target


def gguf_runs(path: Path, *, timeout: float = 300) -> str:
    """Load `path` with llama-cpp-python in a child process and generate two tokens; returns
    "" when that works, else what went wrong (a crash must not take the worker down)."""
    import subprocess
    import sys

    # Loaded the way the inference workers load it, in a child so that a crash stays there.
    code = (
        "import sys\n"
        "from llm_runtime.llama_loader import load_llama\n"
        "m = load_llama(model_path=sys.argv[1], n_ctx=128, verbose=False, repack=sys.argv[2] == '1')\n"
        "m('Hello, how are you?', max_tokens=2)\n"
    )
    repack = "1" if repack_setting() else "0"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path.resolve()), repack],
            capture_output=True,
            timeout=timeout,
            text=True,
            cwd=PROJECT_ROOT,
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    return "" if done.returncode == 0 else f"exit status {done.returncode}: {done.stderr[-500:]}"


def export_merged_q4_k_m(
    base_gguf: Path, model: Any, *, arch: str, alpha: float, rank: int, directory: Path
) -> dict[str, str]:
    """Returns {"merged_gguf": path} (Q4_K_M when llama.cpp's quantizer produced a file that
    runs, else the F16 merge with the reason in "merged_q4_k_m_error")."""
    lora = lora_tensors(model, arch=arch)
    f16 = write_merged_gguf(base_gguf, lora, scale=alpha / rank, path=directory / "merged-f16.gguf")
    try:
        quantized = quantize_q4_k_m(f16, directory / "merged-q4_k_m.gguf")
        problem = gguf_runs(quantized)
    except RuntimeError as exc:
        problem = str(exc)
    if not problem:
        f16.unlink(missing_ok=True)
        return {"merged_gguf": str(quantized)}
    (directory / "merged-q4_k_m.gguf").unlink(missing_ok=True)
    return {"merged_gguf": str(f16), "merged_q4_k_m_error": f"the Q4_K_M re-quantization does not run: {problem}"}
