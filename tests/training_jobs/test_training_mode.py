"""A run says how it trained and why: the stored mode and the log match what ran, not only what
the hyperparameters asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training_jobs.hyperparameters import Hyperparameters
from training_jobs.trainer import loading

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU paths; a CUDA node takes others")


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_a_cpu_run_says_whether_bf16_autocast_ran_and_why(trained_run):
    evaluation = trained_run.evaluation
    flags = _cpu_flags()
    if "amx_bf16" in flags or "avx512_bf16" in flags:
        assert evaluation["mode"] == "lora-fp32+bf16-autocast"
        assert "bf16 autocast: this CPU has " in evaluation["mode_reason"]
        assert "AMX" in evaluation["mode_reason"] or "AVX512-BF16" in evaluation["mode_reason"]
    else:
        assert evaluation["mode"] == "lora-fp32"
        assert "this CPU has no native bf16" in evaluation["mode_reason"]
    # The hyperparameters asked for QLoRA too (the default); a CPU run says it did not use it.
    assert "4-bit QLoRA needs CUDA" in evaluation["mode_reason"]
    assert f"{evaluation['mode']}: {evaluation['mode_reason']}" in trained_run.reporter.lines


def test_without_native_bf16_a_cpu_trains_in_fp32_and_says_bf16_was_not_used(monkeypatch):
    # Another CPU: the hardware probe answers as one without AMX or AVX512-BF16 would.
    monkeypatch.setattr(loading, "cpu_bf16_feature", lambda: "")
    precision = loading.choose_precision(Hyperparameters(bf16_mixed_precision=True, load_in_4bit=False))
    assert precision.mode == "lora-fp32" and not precision.bf16_autocast and not precision.bf16_weights
    assert precision.reason == (
        "fp32: this CPU has no native bf16 (neither AMX nor AVX512-BF16), so bf16_mixed_precision is not used"
    )


def test_bf16_autocast_turned_off_is_said_as_such():
    precision = loading.choose_precision(Hyperparameters(bf16_mixed_precision=False, load_in_4bit=False))
    assert precision.mode == "lora-fp32" and not precision.bf16_autocast
    assert precision.reason == "fp32: bf16_mixed_precision is off"
