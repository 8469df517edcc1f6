"""Fine-tuning hyperparameters: defaults, validation with field-named errors, suggestions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django.core.exceptions import ValidationError

DEFAULT_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class Hyperparameters:
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))
    learning_rate: float = 2e-4
    num_epochs: float = 3.0
    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_seq_length: int = 512
    eval_fraction: float = 0.1
    seed: int = 42
    load_in_4bit: bool = True  # QLoRA where CUDA and bitsandbytes are present; ignored elsewhere
    # bf16 autocast for the forward pass where bf16 is native (CUDA, CPUs with AVX512-BF16/AMX);
    # the LoRA weights and optimizer stay fp32. Evaluation always runs in fp32.
    bf16_mixed_precision: bool = True
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_steps: int = 0  # 0: run all epochs
    checkpoint_every: int = 25
    eval_every: int = 0  # 0: once per epoch

    RULES = {
        "lora_r": (1, 512),
        "lora_alpha": (1, 4096),
        "lora_dropout": (0.0, 0.9),
        "learning_rate": (1e-7, 1.0),
        "num_epochs": (0.01, 100.0),
        "batch_size": (1, 1024),
        "gradient_accumulation_steps": (1, 1024),
        "max_seq_length": (16, 131072),
        "eval_fraction": (0.0, 0.5),
        "seed": (0, 2**31 - 1),
        "warmup_ratio": (0.0, 0.5),
        "weight_decay": (0.0, 1.0),
        "max_steps": (0, 10_000_000),
        "checkpoint_every": (1, 1_000_000),
        "eval_every": (0, 1_000_000),
    }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hyperparameters:
        known = {f.name: f for f in fields(cls)}
        errors: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        for key, value in (values or {}).items():
            if key not in known:
                errors[key] = f"unknown hyperparameter; known: {', '.join(sorted(known))}"
                continue
            default = getattr(cls(), key)
            try:
                if key == "target_modules":
                    if isinstance(value, str):
                        value = [m.strip() for m in value.split(",") if m.strip()]
                    if not isinstance(value, list) or not value or not all(isinstance(m, str) and m for m in value):
                        raise ValueError("must be a non-empty list of module names, e.g. q_proj, v_proj")
                elif isinstance(default, bool):
                    if not isinstance(value, bool):
                        raise ValueError("must be true or false")
                elif isinstance(default, int):
                    if isinstance(value, bool) or float(value) != int(float(value)):
                        raise ValueError("must be a whole number")
                    value = int(float(value))
                else:
                    if isinstance(value, bool):
                        raise ValueError("must be a number")
                    value = float(value)
            except (TypeError, ValueError) as exc:
                errors[key] = str(exc) if "must" in str(exc) else "must be a number"
                continue
            if key in cls.RULES:
                low, high = cls.RULES[key]
                if not low <= value <= high:
                    errors[key] = f"must be between {low} and {high}"
                    continue
            kwargs[key] = value
        if errors:
            raise ValidationError({"hyperparameters": [f"{k}: {v}" for k, v in errors.items()]})
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.gradient_accumulation_steps


def suggested_hyperparameters(*, n_train: int, on_gpu: bool) -> Hyperparameters:
    """Small data sets overfit quickly: fewer epochs as the set grows, a lower rank when tiny."""
    epochs = 4.0 if n_train < 100 else 3.0 if n_train < 500 else 2.0
    return Hyperparameters(
        lora_r=8 if n_train < 100 else 16,
        lora_alpha=16 if n_train < 100 else 32,
        num_epochs=epochs,
        batch_size=8 if on_gpu else 4,
        gradient_accumulation_steps=1 if on_gpu else 2,
        load_in_4bit=on_gpu,
    )
