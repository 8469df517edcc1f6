"""Training throughput: OptiQ's LoRA trainer against a plain transformers Trainer + peft.

Same base model (the default Gemma 3 270M, converted once from its GGUF), same examples (the
shipped ones), same LoRA settings, learning rate, batch size, epochs and seed. Each side runs
in its own process so peak memory (max RSS) is its own. Reported: training tokens per second
(real tokens, padding excluded), peak RSS and the held-out eval loss after training, measured
the same way for both.

    .venv/bin/python benchmarks/training.py --examples 64 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.local")

PARAMS = {
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "learning_rate": 3e-4,
    "num_epochs": 1,
    "batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_seq_length": 384,
    "eval_fraction": 0.15,
    "seed": 42,
    "warmup_ratio": 0.0,
    "checkpoint_every": 100000,
}


def _setup() -> tuple[object, object, list, list, object]:
    import django
    from django.conf import settings

    # No database is needed: only the model directory and the shipped examples.
    settings.configure(
        ARTIFACTS_DIR=Path(os.environ.get("OPTIQ_ARTIFACTS_DIR", ROOT / "var" / "artifacts")),
        OPTIQ_HF_TOKEN=None,
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
    from training_jobs.hyperparameters import Hyperparameters
    from training_jobs.trainer import data, loading

    gguf = Path(os.environ.get("OPTIQ_MODELS_DIR", ROOT / "var" / "models")) / "gemma-3-270m-q4_k_m.gguf"
    spec = loading.resolve_base(identifier=str(gguf))
    tokenizer = loading.load_tokenizer(spec)
    lines = (ROOT / "training_jobs" / "data" / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    records = [
        data.Record(**{k: v for k, v in json.loads(line).items() if k in ("prompt", "completion", "category")})
        for line in lines
    ]
    return spec, tokenizer, records, lines, Hyperparameters.from_dict(PARAMS)


def run_side(side: str, n_examples: int) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model

    from training_jobs.trainer import data, loading
    from training_jobs.trainer.loop import LoraTrainer, evaluate_loss

    spec, tokenizer, records, _, params = _setup()
    torch.set_num_threads(os.cpu_count() or 1)
    train_records, eval_records = data.split(records, eval_fraction=params.eval_fraction, seed=params.seed)
    train_records, eval_records = train_records[:n_examples], eval_records[:16]
    train_items = [data.encode(tokenizer, "gemma", r, params.max_seq_length) for r in train_records]
    eval_items = [data.encode(tokenizer, "gemma", r, params.max_seq_length) for r in eval_records]
    model, _ = loading.load_model(spec, load_in_4bit=False)
    torch.manual_seed(params.seed)
    model = get_peft_model(
        model,
        LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=0.0,
            target_modules=params.target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    tokens = sum(item.length for item in train_items)
    if side == "optiq":
        trainer = LoraTrainer(
            model=model,
            train_items=train_items,
            eval_items=[],
            params=params,
            output_dir=Path("/tmp/optiq-bench-train"),
        )
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    else:
        from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

        dataset = [
            {"input_ids": i.input_ids, "labels": i.labels, "attention_mask": [1] * i.length} for i in train_items
        ]
        args = TrainingArguments(
            output_dir="/tmp/optiq-bench-baseline",
            per_device_train_batch_size=params.batch_size,
            gradient_accumulation_steps=params.gradient_accumulation_steps,
            learning_rate=params.learning_rate,
            num_train_epochs=params.num_epochs,
            seed=params.seed,
            report_to=[],
            save_strategy="no",
            logging_steps=1000,
            use_cpu=True,
            warmup_ratio=0.0,
            lr_scheduler_type="cosine",
            dataloader_num_workers=0,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=dataset,
            data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100),
        )
        started = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - started
    eval_loss = evaluate_loss(model, eval_items)
    return {
        "tokens": tokens,
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "eval_loss": eval_loss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side", choices=["optiq", "baseline"])
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.examples)))
        return
    results: dict[str, list[dict[str, float]]] = {"optiq": [], "baseline": []}
    for _ in range(args.repeats):
        for side in ("baseline", "optiq"):
            out = subprocess.run(
                [sys.executable, __file__, "--side", side, "--examples", str(args.examples)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(side, results[side][-1], flush=True)
    med = {side: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for side, runs in results.items()}
    ratio = med["optiq"]["tokens_per_s"] / med["baseline"]["tokens_per_s"]
    print("\n| trainer | tokens/s | peak RSS (MB) | eval loss after |\n|---|---|---|---|")
    for side in ("baseline", "optiq"):
        m = med[side]
        print(f"| {side} | {m['tokens_per_s']:.0f} | {m['peak_rss_mb']:.0f} | {m['eval_loss']:.4f} |")
    print(f"\nspeed-up: {ratio:.2f}x (median of {args.repeats}, {args.examples} examples, 1 epoch, batch 4)")


if __name__ == "__main__":
    main()
