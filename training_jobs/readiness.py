"""Is the approved data ready to fine-tune on? Counts, duplicates, lengths in the base model's
tokens, category balance, the planned split, estimated steps and time, suggested settings."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from llm_runtime.hardware import cpu_has_native_bf16
from training_jobs.hyperparameters import Hyperparameters, suggested_hyperparameters
from training_jobs.models import TrainingExample

MINIMUM_EXAMPLES = 50
RECOMMENDED_EXAMPLES = 100
# Seconds per step of 4 packed ~150-token examples, Gemma 3 270M, LoRA r=16, evaluation included.
# CPU: measured by `make demo-train` on the 2-core reference machine (84 steps in 257 s, examples
# of ~118 tokens, bf16 autocast); without native bf16 the trainer runs at about 1/1.6 of that
# rate (benchmarks/training.py). GPU: an estimate for a single data-centre card, not measured here.
SECONDS_PER_STEP = {"cpu": 3.9, "cpu_fp32": 6.3, "gpu": 0.15}
MIN_CATEGORY_SHARE = 0.03


@dataclass
class Readiness:
    ready: bool
    approved: int
    minimum: int = MINIMUM_EXAMPLES
    recommended: int = RECOMMENDED_EXAMPLES
    drafts: int = 0
    duplicates: list[list[int]] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    too_long: list[dict[str, int]] = field(default_factory=list)
    token_counts: dict[str, Any] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    underrepresented: list[str] = field(default_factory=list)
    privacy_findings: list[str] = field(default_factory=list)
    split: dict[str, int] = field(default_factory=dict)
    estimate: dict[str, Any] = field(default_factory=dict)
    suggested_hyperparameters: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tokenizer_counter(tokenizer: Any) -> Any:
    if tokenizer is None:
        # Without the base model's tokenizer: about four characters per token for English.
        return lambda text: max(1, math.ceil(len(text) / 4)), "estimated (4 characters per token)"
    return lambda text: len(tokenizer(text, add_special_tokens=True)["input_ids"]), "base model tokenizer"


def readiness_report(
    *, tokenizer: Any = None, chat_format: str = "gemma", params: Hyperparameters | None = None
) -> Readiness:
    from llm_runtime.chat_formats import END_OF_TURN, render
    from training_jobs.privacy_scan import privacy_scan
    from training_jobs.trainer.data import split as plan_split
    from training_jobs.trainer.data import steps_per_epoch

    params = params or Hyperparameters()
    examples = list(TrainingExample.objects.filter(status=TrainingExample.Status.APPROVED).order_by("pk"))
    report = Readiness(
        ready=False,
        approved=len(examples),
        drafts=TrainingExample.objects.filter(status=TrainingExample.Status.DRAFT).count(),
    )
    count, how = _tokenizer_counter(tokenizer)
    by_content: dict[str, list[int]] = {}
    lengths: list[int] = []
    for example in examples:
        by_content.setdefault(" ".join((example.prompt + "\x1f" + example.completion).casefold().split()), []).append(
            example.pk
        )
        if not example.prompt.strip() or not example.completion.strip():
            report.empty.append(example.pk)
            continue
        text = (
            render(chat_format, [{"role": "user", "content": example.prompt}], add_generation_prompt=True)
            + example.completion
            + END_OF_TURN[chat_format]
        )
        tokens = count(text)
        lengths.append(tokens)
        if tokens > params.max_seq_length:
            report.too_long.append({"id": example.pk, "tokens": tokens})
    report.duplicates = [ids for ids in by_content.values() if len(ids) > 1]
    if lengths:
        ordered = sorted(lengths)
        report.token_counts = {
            "counted_with": how,
            "max_seq_length": params.max_seq_length,
            "min": ordered[0],
            "median": ordered[len(ordered) // 2],
            "max": ordered[-1],
            "total": sum(ordered),
        }
    report.categories = dict(sorted(Counter(e.category or "(none)" for e in examples).items()))
    if examples:
        report.underrepresented = [c for c, n in report.categories.items() if n / len(examples) < MIN_CATEGORY_SHARE]
    report.privacy_findings = [str(f) for f in privacy_scan(examples)]

    train, held_out = plan_split(list(range(len(examples))), eval_fraction=params.eval_fraction, seed=params.seed)  # type: ignore[arg-type]
    report.split = {"train": len(train), "eval": len(held_out)}
    suggestion = suggested_hyperparameters(n_train=len(train), on_gpu=False)
    report.suggested_hyperparameters = {
        "cpu": suggestion.as_dict(),
        "gpu": suggested_hyperparameters(n_train=len(train), on_gpu=True).as_dict(),
    }
    steps = math.ceil(
        steps_per_epoch(max(len(train), 1), suggestion.batch_size, suggestion.gradient_accumulation_steps)
        * suggestion.num_epochs
    )
    mean_tokens = (sum(lengths) / len(lengths)) if lengths else 150
    cpu_kind = "cpu" if cpu_has_native_bf16() else "cpu_fp32"
    size_factor = mean_tokens / 150
    report.estimate = {
        "steps": steps,
        "epochs": suggestion.num_epochs,
        "cpu_minutes": round(
            steps * suggestion.effective_batch_size / 4 * SECONDS_PER_STEP[cpu_kind] * size_factor / 60, 1
        ),
        "gpu_minutes": round(steps * SECONDS_PER_STEP["gpu"] * size_factor / 60, 1),
        "note": "for the default Gemma 3 270M; the GPU figure is an estimate; an 8B model with QLoRA takes "
        "about 20x the GPU time",
    }

    if report.approved < MINIMUM_EXAMPLES:
        report.problems.append(f"only {report.approved} approved examples; at least {MINIMUM_EXAMPLES} are needed")
        report.advice.append(
            f"write or import {MINIMUM_EXAMPLES - report.approved} more examples, or approve drafts "
            f"({report.drafts} waiting)"
        )
    elif report.approved < RECOMMENDED_EXAMPLES:
        report.advice.append(
            f"{report.approved} approved examples is enough to start; {RECOMMENDED_EXAMPLES}+ give better results"
        )
    if report.duplicates:
        report.problems.append(f"{len(report.duplicates)} groups of duplicate examples: {report.duplicates[:10]}")
        report.advice.append("reject all but one example of each duplicate group")
    if report.empty:
        report.problems.append(f"empty prompt or completion in examples {report.empty[:20]}")
    if report.too_long:
        report.problems.append(
            f"{len(report.too_long)} examples are longer than max_seq_length={params.max_seq_length} tokens"
        )
        report.advice.append("shorten them, or raise max_seq_length")
    if report.privacy_findings:
        report.problems.append(f"{len(report.privacy_findings)} examples contain patient data")
        report.advice.append("edit or reject the examples listed under privacy findings")
    if report.underrepresented:
        report.advice.append(f"few examples in {', '.join(report.underrepresented)}: add some for balance")
    report.ready = not report.problems
    return report
