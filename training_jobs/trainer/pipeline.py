"""One training run from start to artifacts: load, format, train (or resume), evaluate, export.

The job service builds the `TrainingRun` from a claimed job and passes the reporter that writes
the job row; everything the run has to say goes through that reporter (`reporting.Reporter`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from llm_runtime.hardware import device_name
from training_jobs.hyperparameters import Hyperparameters
from training_jobs.trainer import data, export, loading
from training_jobs.trainer.evaluation import perplexity, side_by_side
from training_jobs.trainer.loop import Cancelled, LoraTrainer, evaluate_loss, latest_checkpoint
from training_jobs.trainer.reporting import Reporter

logger = logging.getLogger(__name__)
SIDE_BY_SIDE = 3


@dataclass(frozen=True)
class TrainingRun:
    """Everything one run needs."""

    base: str  # a GGUF file, a local Hugging Face directory or a Hugging Face id
    chat_format: str  # "" to use the base tokenizer's own chat template
    params: Hyperparameters
    records: list[data.Record]
    output_dir: Path  # checkpoints and artifacts; a checkpoint found here is resumed
    merge_quantized: bool = False
    adapter_name: str = "OptiQ LoRA adapter"
    evaluation: dict[str, Any] = field(default_factory=dict)  # what an earlier attempt measured


@dataclass(frozen=True)
class RunResult:
    artifacts: dict[str, Any]
    evaluation: dict[str, Any]


def run_training(run: TrainingRun, reporter: Reporter) -> RunResult:
    """Train, evaluate and export. Raises Cancelled when the reporter says stop (the checkpoint
    is kept)."""
    from peft import LoraConfig, get_peft_model

    params = run.params
    output_dir = run.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    spec = loading.resolve_base(run.base)
    precision = loading.choose_precision(params)
    reporter.log(f"loading {spec.label} on {device_name()}")
    reporter.flush()
    torch.manual_seed(params.seed)
    tokenizer = loading.load_tokenizer(spec)
    model = loading.load_model(spec, precision=precision)
    chat_format = run.chat_format
    if not chat_format and not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_format: the base model has no chat template; set a chat format (e.g. gemma)")

    train_records, eval_records = data.split(run.records, eval_fraction=params.eval_fraction, seed=params.seed)
    train_items = [data.encode(tokenizer, chat_format, r, params.max_seq_length) for r in train_records]
    eval_items = [data.encode(tokenizer, chat_format, r, params.max_seq_length) for r in eval_records]
    target_modules = sorted({name.rsplit(".", 1)[-1] for name, _ in model.named_modules()} & set(params.target_modules))
    if not target_modules:
        raise ValueError(f"target_modules: none of {params.target_modules} exist in this model")
    evaluation: dict[str, Any] = dict(run.evaluation)
    if "base_eval_loss" not in evaluation:
        base_loss = evaluate_loss(model, eval_items)
        evaluation.update(base_eval_loss=base_loss, base_perplexity=perplexity(base_loss))
        reporter.evaluation(evaluation)
        if base_loss is not None:
            reporter.eval_loss(step=0, loss=base_loss)
    model = get_peft_model(
        model,
        LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            target_modules=target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    reporter.log(f"{precision.mode}: {precision.reason}")
    reporter.log(
        f"{len(train_items)} training / {len(eval_items)} held-out examples, "
        f"LoRA r={params.lora_r} on {', '.join(target_modules)} ({trainable:,} trainable parameters)"
    )
    trainer = LoraTrainer(
        model=model,
        train_items=train_items,
        eval_items=eval_items,
        params=params,
        output_dir=output_dir,
        bf16=precision.bf16_autocast,
        reporter=reporter,
    )
    checkpoint = latest_checkpoint(output_dir)
    if checkpoint is not None:
        trainer.load_checkpoint(checkpoint)
    started = time.monotonic()
    state = trainer.train()
    train_seconds = time.monotonic() - started

    reporter.log("exporting the adapter")
    artifacts: dict[str, Any] = {}
    adapter_dir = export.save_peft_adapter(model, tokenizer, output_dir / "adapter")
    artifacts["peft_adapter"] = str(adapter_dir)
    arch = loading.gguf_architecture(model.get_base_model())
    gguf_lora = export.write_gguf_lora(
        model, output_dir / "adapter.gguf", arch=arch, alpha=params.lora_alpha, name=run.adapter_name
    )
    artifacts["gguf_lora"] = str(gguf_lora)
    if spec.gguf_path is not None:
        artifacts["base_gguf"] = str(spec.gguf_path)
        if run.merge_quantized:
            reporter.log("merging into the base GGUF and quantizing to Q4_K_M")
            artifacts.update(
                export.export_merged_q4_k_m(
                    spec.gguf_path, model, arch=arch, alpha=params.lora_alpha, rank=params.lora_r, directory=output_dir
                )
            )

    final_loss = state.eval_loss[-1][1] if state.eval_loss else None
    evaluation.update(
        fine_tuned_eval_loss=final_loss,
        fine_tuned_perplexity=perplexity(final_loss),
        train_seconds=round(train_seconds, 1),
        tokens_seen=state.tokens_seen,
        n_train=len(train_items),
        n_eval=len(eval_items),
        mode=precision.mode,
        mode_reason=precision.reason,
    )
    reporter.log("generating side-by-side answers")
    samples = eval_records[:SIDE_BY_SIDE] or train_records[:SIDE_BY_SIDE]
    evaluation["side_by_side"] = side_by_side(
        records=samples,
        tokenizer=tokenizer,
        chat_format=chat_format,
        base_gguf=spec.gguf_path,
        gguf_lora=gguf_lora if spec.gguf_path else None,
        model=model,
    )
    reporter.log("done")
    reporter.flush()
    return RunResult(artifacts=artifacts, evaluation=evaluation)


__all__ = ["Cancelled", "RunResult", "TrainingRun", "run_training"]
