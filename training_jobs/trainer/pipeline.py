"""One training job from start to artifacts: load, format, train (or resume), evaluate, export.

Called by the Celery task after it has claimed the job; progress and the log go to the job row
through `JobReporter`, which also tells the loop when to stop.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from django.conf import settings

from training_jobs.hyperparameters import Hyperparameters
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.services import training_job_heartbeat, training_job_log
from training_jobs.trainer import data, export, loading
from training_jobs.trainer.evaluation import perplexity, side_by_side
from training_jobs.trainer.loop import Cancelled, LoraTrainer, evaluate_loss, latest_checkpoint

logger = logging.getLogger(__name__)
SIDE_BY_SIDE = 3


class JobReporter:
    """Buffers progress and writes it to the job at most every `interval` seconds (and on
    checkpoints, evaluations and the end). Cancellation is checked before every step."""

    def __init__(self, job: TrainingJob, worker: str, *, interval: float | None = None) -> None:
        self.job, self.worker = job, worker
        self.interval = (
            interval if interval is not None else float(getattr(settings, "OPTIQ_TRAINING_PROGRESS_INTERVAL", 3.0))
        )
        self.last_write = 0.0
        self.pending: dict[str, Any] = {}
        self.losses: list[list[float]] = []
        self.evals: list[list[float]] = []
        self.lines: list[str] = []
        self.stop = False

    def _flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.interval:
            return
        keep_going = training_job_heartbeat(
            job=self.job,
            worker=self.worker,
            train_loss=self.losses or None,
            eval_loss=self.evals or None,
            log_lines=self.lines or None,
            **self.pending,
        )
        self.stop = self.stop or not keep_going
        self.last_write = now
        self.pending, self.losses, self.evals, self.lines = {}, [], [], []

    def progress(
        self,
        *,
        step: int,
        total_steps: int,
        epoch: float,
        eta_seconds: float | None,
        loss: float | None,
        tokens_seen: int,
        force: bool = False,
    ) -> None:
        self.pending.update(step=step, total_steps=total_steps, epoch=epoch, tokens_seen=tokens_seen)
        if eta_seconds is not None:
            self.pending["eta_seconds"] = round(eta_seconds, 1)
        if loss is not None:
            self.losses.append([step, round(loss, 5)])
        self._flush(force)

    def eval_loss(self, *, step: int, loss: float) -> None:
        self.evals.append([step, round(loss, 5)])
        self._flush(force=True)

    def log(self, line: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {line}")
        logger.info("job %s: %s", self.job.pk, line)

    def checkpoint(self, *, step: int) -> None:
        self.pending["checkpoint_step"] = step
        self._flush(force=True)

    def should_stop(self) -> bool:
        # One indexed read per step: a cancel lands within one step, not one flush interval.
        row = TrainingJob.objects.filter(pk=self.job.pk).values("cancel_requested", "status", "worker").first()
        if (
            row is None
            or row["cancel_requested"]
            or row["status"] != TrainingJob.Status.RUNNING
            or row["worker"] != self.worker
        ):
            self.stop = True
        return self.stop


def job_records(job: TrainingJob) -> list[data.Record]:
    if job.data_file:
        from training_jobs.dataset_files import parse_jsonl

        with open(job.data_file, encoding="utf-8") as handle:
            parsed = parse_jsonl(handle)
        return [data.Record(r.prompt, r.completion, r.system_prompt, r.category) for r in parsed.records]
    examples = TrainingExample.objects.filter(pk__in=job.example_ids).order_by("pk")
    return [data.Record(e.prompt, e.completion, e.system_prompt, e.category, e.pk) for e in examples]


def run_job(job: TrainingJob, worker: str) -> dict[str, Any]:
    """Train, evaluate and export; returns {"artifacts": ..., "evaluation": ...}.
    Raises Cancelled when stopped (the checkpoint is kept)."""
    from peft import LoraConfig, get_peft_model

    params = Hyperparameters.from_dict(job.hyperparameters)
    reporter = JobReporter(job, worker)
    output_dir = Path(job.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    spec = loading.resolve_base(identifier=job.base_identifier, model_version=job.base_model)
    training_job_log(job=job, line=f"loading {spec.label} on {loading.device_name()}")
    torch.manual_seed(params.seed)
    tokenizer = loading.load_tokenizer(spec)
    model, mode = loading.load_model(spec, load_in_4bit=params.load_in_4bit)
    chat_format = job.chat_format
    if not chat_format and not getattr(tokenizer, "chat_template", None):
        raise ValueError("chat_format: the base model has no chat template; set a chat format (e.g. gemma)")

    records = job_records(job)
    train_records, eval_records = data.split(records, eval_fraction=params.eval_fraction, seed=params.seed)
    train_items = [data.encode(tokenizer, chat_format, r, params.max_seq_length) for r in train_records]
    eval_items = [data.encode(tokenizer, chat_format, r, params.max_seq_length) for r in eval_records]
    target_modules = sorted({name.rsplit(".", 1)[-1] for name, _ in model.named_modules()} & set(params.target_modules))
    if not target_modules:
        raise ValueError(f"target_modules: none of {params.target_modules} exist in this model")
    evaluation: dict[str, Any] = dict(job.evaluation or {})
    if "base_eval_loss" not in evaluation:
        base_loss = evaluate_loss(model, eval_items)
        evaluation.update(base_eval_loss=base_loss, base_perplexity=perplexity(base_loss))
        TrainingJob.objects.filter(pk=job.pk).update(evaluation=evaluation)
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
    reporter.log(
        f"{mode}: {len(train_items)} training / {len(eval_items)} held-out examples, "
        f"LoRA r={params.lora_r} on {', '.join(target_modules)} ({trainable:,} trainable parameters)"
    )
    trainer = LoraTrainer(
        model=model,
        train_items=train_items,
        eval_items=eval_items,
        params=params,
        output_dir=output_dir,
        reporter=reporter,
    )
    if trainer.bf16:
        mode += "+bf16-autocast"
        reporter.log("forward passes under bf16 autocast (LoRA weights and evaluation in fp32)")
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
        model, output_dir / "adapter.gguf", arch=arch, alpha=params.lora_alpha, name=f"OptiQ job {job.pk}"
    )
    artifacts["gguf_lora"] = str(gguf_lora)
    if spec.gguf_path is not None:
        artifacts["base_gguf"] = str(spec.gguf_path)
        if job.merge_quantized:
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
        mode=mode,
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
    reporter._flush(force=True)
    return {"artifacts": artifacts, "evaluation": evaluation}


__all__ = ["Cancelled", "run_job"]
