"""The LoRA training loop: packed batches, loss on completion tokens only, checkpoints, resume,
cancellation between steps, progress through a reporter.

Three things make it faster than a stock Trainer (benchmarks/training.py): a batch is packed
into one row (no padding), logits are computed only at the positions that have a label (with
Gemma's 262k-token vocabulary the output projection costs more than the rest of a small model),
and where the hardware has native bf16 the forward pass runs under bf16 autocast while the LoRA
weights, optimizer and evaluation stay fp32.
"""

from __future__ import annotations

import hashlib
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training_jobs.hyperparameters import Hyperparameters
from training_jobs.trainer.data import IGNORE_INDEX, Encoded, epoch_batches, pack, steps_per_epoch
from training_jobs.trainer.reporting import NullReporter, Reporter


class Cancelled(Exception):
    """The job was cancelled (or taken from this worker); the last checkpoint is kept."""


def causal_lm(model: Any) -> Any:
    """The transformers CausalLM inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def completion_loss(
    model: Any, batch: dict[str, torch.Tensor], *, reduction: str = "mean", bf16: bool = False
) -> torch.Tensor:
    """Cross-entropy on labelled positions only, projecting just those hidden states to the vocabulary.
    With `bf16`, the forward pass runs under bf16 autocast (the LoRA weights stay fp32)."""
    lm = causal_lm(model)
    device = next(lm.parameters()).device
    inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
    labels = batch["labels"].to(device)[:, 1:]
    selected = labels != IGNORE_INDEX
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        hidden = lm.get_decoder()(**inputs, use_cache=False).last_hidden_state
        states = hidden[:, :-1][selected]
        logits = lm.get_output_embeddings()(states)
    logits = logits.float()
    cap = getattr(lm.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, labels[selected], reduction=reduction)


@torch.no_grad()
def evaluate_loss(model: Any, items: Sequence[Encoded], *, batch_size: int = 8) -> float | None:
    """Mean loss per completion token over `items` (None when there are none)."""
    if not items:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(items), batch_size):
        packed = pack(items[start : start + batch_size])
        total += float(completion_loss(model, packed, reduction="sum"))
        count += int((packed["labels"][:, 1:] != IGNORE_INDEX).sum())
    if was_training:
        model.train()
    return total / max(count, 1)


@dataclass
class RunState:
    step: int = 0
    tokens_seen: int = 0
    train_loss: list[list[float]] = field(default_factory=list)
    eval_loss: list[list[float]] = field(default_factory=list)


def total_steps(params: Hyperparameters, n_train: int) -> int:
    per_epoch = steps_per_epoch(n_train, params.batch_size, params.gradient_accumulation_steps)
    planned = max(1, math.ceil(per_epoch * params.num_epochs))
    return min(planned, params.max_steps) if params.max_steps else planned


def _lr_lambda(warmup: int, total: int) -> Any:
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))

    return factor


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint. A worker killed while saving leaves `step-N.partial`: skipped."""
    checkpoints = sorted(
        (p for p in (output_dir / "checkpoints").glob("step-*") if p.name.removeprefix("step-").isdigit()),
        key=lambda p: int(p.name.removeprefix("step-")),
    )
    for candidate in reversed(checkpoints):
        if (candidate / "state.pt").is_file():
            return candidate
    return None


class LoraTrainer:
    def __init__(
        self,
        *,
        model: Any,
        train_items: Sequence[Encoded],
        eval_items: Sequence[Encoded],
        params: Hyperparameters,
        output_dir: Path,
        bf16: bool = False,
        reporter: Reporter | None = None,
    ) -> None:
        self.model = model
        self.train_items = list(train_items)
        self.eval_items = list(eval_items)
        self.params = params
        self.output_dir = Path(output_dir)
        self.reporter = reporter or NullReporter()
        self.total = total_steps(params, len(self.train_items))
        self.per_epoch = steps_per_epoch(len(self.train_items), params.batch_size, params.gradient_accumulation_steps)
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=params.learning_rate, weight_decay=params.weight_decay)
        warmup = int(self.total * params.warmup_ratio)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _lr_lambda(warmup, self.total))
        self.state = RunState()
        self.bf16 = bf16  # forward passes under bf16 autocast (loading.choose_precision decides)
        # What a checkpoint must match to be resumed: the same adapter shapes and the same data.
        shapes = ",".join(f"{n}:{tuple(p.shape)}" for n, p in model.named_parameters() if p.requires_grad)
        data = ",".join(str(item.length) for item in self.train_items)
        self.fingerprint = hashlib.sha256(f"{shapes}|{data}".encode()).hexdigest()

    # --- checkpoints ---------------------------------------------------------------------

    def save_checkpoint(self) -> Path:
        from peft import get_peft_model_state_dict

        target = self.output_dir / "checkpoints" / f"step-{self.state.step}"
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        torch.save(
            {
                "adapter": get_peft_model_state_dict(self.model),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "state": self.state.__dict__,
                "torch_rng": torch.get_rng_state(),
                "python_rng": random.getstate(),
                "fingerprint": self.fingerprint,
            },
            partial / "state.pt",
        )
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
        # Only the newest checkpoint is kept: an adapter checkpoint is small, but not free.
        for older in (self.output_dir / "checkpoints").glob("step-*"):
            if older != target:
                shutil.rmtree(older, ignore_errors=True)
        self.reporter.checkpoint(step=self.state.step)
        return target

    def load_checkpoint(self, path: Path) -> bool:
        """Resume from `path`; False (and a fresh start) when it belongs to another run."""
        from peft import set_peft_model_state_dict

        saved = torch.load(path / "state.pt", weights_only=False, map_location="cpu")
        if saved.get("fingerprint") != self.fingerprint:
            self.reporter.log(f"ignoring the checkpoint in {path}: it was made with another model or data set")
            return False
        set_peft_model_state_dict(self.model, saved["adapter"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.state = RunState(**saved["state"])
        torch.set_rng_state(saved["torch_rng"])
        random.setstate(saved["python_rng"])
        self.reporter.log(f"resumed from the checkpoint at step {self.state.step}")
        return True

    # --- the loop ------------------------------------------------------------------------

    def _evaluate(self) -> None:
        loss = evaluate_loss(self.model, self.eval_items)
        if loss is not None:
            self.state.eval_loss.append([self.state.step, round(loss, 5)])
            self.reporter.eval_loss(step=self.state.step, loss=loss)
            self.reporter.log(
                f"step {self.state.step}: eval loss {loss:.4f} (perplexity {math.exp(min(loss, 50)):.2f})"
            )

    def train(self) -> RunState:
        """Run to the planned number of steps (from the resumed step, if any)."""
        params = self.params
        torch.manual_seed(params.seed)
        self.model.train()
        started = time.monotonic()
        start_step = self.state.step
        eval_every = params.eval_every or self.per_epoch
        self.reporter.progress(
            step=self.state.step,
            total_steps=self.total,
            epoch=self.state.step / self.per_epoch,
            eta_seconds=None,
            loss=None,
            tokens_seen=self.state.tokens_seen,
            force=True,
        )
        while self.state.step < self.total:
            epoch = self.state.step // self.per_epoch
            batches = epoch_batches(self.train_items, batch_size=params.batch_size, seed=params.seed, epoch=epoch)
            accumulation = params.gradient_accumulation_steps
            first = (self.state.step % self.per_epoch) * accumulation
            for index in range(first, len(batches), accumulation):
                if self.state.step >= self.total:
                    break
                if self.reporter.should_stop():
                    self.save_checkpoint()
                    raise Cancelled(f"stopped at step {self.state.step}")
                group = batches[index : index + accumulation]
                group_tokens = sum(
                    sum(1 for label in item.labels[1:] if label != IGNORE_INDEX) for batch in group for item in batch
                )
                step_loss = 0.0
                for batch in group:
                    packed = pack(batch)
                    n_tokens = int((packed["labels"][:, 1:] != IGNORE_INDEX).sum())
                    loss = completion_loss(self.model, packed, bf16=self.bf16)
                    # Weighted by tokens so the step's loss is the mean over all its completion tokens.
                    (loss * (n_tokens / max(group_tokens, 1))).backward()
                    step_loss += float(loss.detach()) * n_tokens / max(group_tokens, 1)
                    self.state.tokens_seen += sum(item.length for item in batch)
                torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.state.step += 1
                self.state.train_loss.append([self.state.step, round(step_loss, 5)])
                elapsed = time.monotonic() - started
                done = self.state.step - start_step
                eta = elapsed / done * (self.total - self.state.step) if done else None
                self.reporter.progress(
                    step=self.state.step,
                    total_steps=self.total,
                    epoch=round(self.state.step / self.per_epoch, 3),
                    eta_seconds=eta,
                    loss=step_loss,
                    tokens_seen=self.state.tokens_seen,
                )
                if self.state.step % eval_every == 0 and self.state.step < self.total:
                    self._evaluate()
                if self.state.step % params.checkpoint_every == 0 and self.state.step < self.total:
                    self.save_checkpoint()
        self._evaluate()
        self.save_checkpoint()
        self.reporter.progress(
            step=self.state.step,
            total_steps=self.total,
            epoch=round(self.state.step / self.per_epoch, 3),
            eta_seconds=0,
            loss=None,
            tokens_seen=self.state.tokens_seen,
            force=True,
        )
        return self.state
