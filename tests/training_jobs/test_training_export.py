"""What a run leaves behind, on the tiny Gemma 3: the PEFT adapter, a GGUF LoRA that llama.cpp
serves next to the base, and a merged GGUF re-quantized to Q4_K_M. (That the GGUF LoRA is the
PEFT adapter, distribution for distribution, is test_gguf_lora_export.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from llm_runtime.llama_loader import load_llama

PROMPT = "<start_of_turn>user\nWhat is a varifocal lens?<end_of_turn>\n<start_of_turn>model\n"


def _answer(base: Path, lora: Path | None = None) -> str:
    llm = load_llama(model_path=str(base), lora_path=str(lora) if lora else None, n_ctx=256, verbose=False, seed=0)
    try:
        return llm(PROMPT, max_tokens=12, temperature=0.0)["choices"][0]["text"]
    finally:
        llm.close()


def test_the_peft_adapter_is_saved_with_the_runs_lora_settings(trained_run):
    adapter = Path(trained_run.artifacts["peft_adapter"])
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (adapter / "adapter_model.safetensors").is_file()
    assert config["r"] == 8 and config["lora_alpha"] == 32
    assert set(config["target_modules"]) == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }


def test_the_gguf_lora_changes_what_llama_cpp_answers_with_the_base(trained_run, tiny_gguf):
    assert trained_run.artifacts["base_gguf"] == str(tiny_gguf)
    assert _answer(tiny_gguf, Path(trained_run.artifacts["gguf_lora"])) != _answer(tiny_gguf)


def test_the_merged_gguf_is_q4_k_m_and_answers_like_the_fine_tuned_model_not_the_base(trained_run, tiny_gguf):
    merged = Path(trained_run.artifacts["merged_gguf"])
    assert merged.name == "merged-q4_k_m.gguf", trained_run.artifacts.get("merged_q4_k_m_error")
    assert _answer(merged) != _answer(tiny_gguf)


def test_training_lowers_the_held_out_loss_measured_before_and_after(trained_run):
    evaluation = trained_run.evaluation
    assert evaluation["n_train"] == 16 and evaluation["n_eval"] == 4
    assert evaluation["fine_tuned_eval_loss"] < evaluation["base_eval_loss"]
    # The base loss was handed to the reporter before training, so a resumed attempt keeps it.
    assert trained_run.reporter.evaluations[0]["base_eval_loss"] == evaluation["base_eval_loss"]
    assert trained_run.reporter.checkpoints[-1] == 8
