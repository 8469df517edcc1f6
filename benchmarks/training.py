"""Training throughput: OptiQ's LoRA trainer against a plain transformers Trainer + peft.

Same base model (the default Gemma 3 270M, loaded from its GGUF), same examples (the shipped
ones), same LoRA settings, learning rate, batch size, epochs and seed. Each side runs in its
own process so peak memory (max RSS) is its own. Reported: training tokens per second (real
tokens, padding excluded), peak RSS and the held-out eval loss after training, measured the
same way (fp32) for every side. Sides:

- baseline: `transformers.Trainer` with default settings (fp32 on CPU), padded batches;
- optiq-fp32: OptiQ's trainer with bf16 autocast off (packing, logits only where there is a label);
- optiq: OptiQ's trainer as shipped (bf16 autocast for the forward pass where the hardware has
  native bf16, as this CPU does with AVX512-BF16; LoRA weights and optimizer in fp32).

    .venv/bin/python benchmarks/training.py [--examples 64] [--seeds 42,7,123] [--no-write]
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
    spec = loading.resolve_base(str(gguf))
    tokenizer = loading.load_tokenizer(spec)
    lines = (ROOT / "training_jobs" / "data" / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    records = [
        data.Record(**{k: v for k, v in json.loads(line).items() if k in ("prompt", "completion", "category")})
        for line in lines
    ]
    return (
        spec,
        tokenizer,
        records,
        lines,
        Hyperparameters.from_dict(
            {
                **PARAMS,
                "seed": int(os.environ.get("OPTIQ_BENCH_SEED", PARAMS["seed"])),
                "bf16_mixed_precision": os.environ.get("OPTIQ_BENCH_SIDE") == "optiq",
            }
        ),
    )


def run_side(side: str, n_examples: int) -> dict[str, float]:
    import torch
    from peft import LoraConfig, get_peft_model

    from training_jobs.trainer import data, loading
    from training_jobs.trainer.loop import LoraTrainer, evaluate_loss

    spec, tokenizer, records, _, params = _setup()
    torch.set_num_threads(os.cpu_count() or 1)
    train_records, eval_records = data.split(records, eval_fraction=params.eval_fraction, seed=params.seed)
    train_records = train_records[:n_examples]
    train_items = [data.encode(tokenizer, "gemma", r, params.max_seq_length) for r in train_records]
    eval_items = [data.encode(tokenizer, "gemma", r, params.max_seq_length) for r in eval_records]
    precision = loading.choose_precision(params)
    model = loading.load_model(spec, precision=precision)
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
    if side.startswith("optiq"):
        trainer = LoraTrainer(
            model=model,
            train_items=train_items,
            eval_items=[],
            params=params,
            output_dir=Path("/tmp/optiq-bench-train"),
            bf16=precision.bf16_autocast,
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
            warmup_steps=0,
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
        "eval_examples": len(eval_items),
        "seconds": seconds,
        "tokens_per_s": tokens / seconds,
        "eval_loss": eval_loss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


SIDES = ("baseline", "optiq-fp32", "optiq")


def render(results: dict[str, list[dict[str, float]]], seeds: list[int], examples: int) -> str:
    med = {side: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for side, runs in results.items()}
    mean_loss = {side: statistics.mean(r["eval_loss"] for r in runs) for side, runs in results.items()}
    base = med["baseline"]["tokens_per_s"]
    out = [
        "## Training: OptiQ's LoRA trainer against a plain transformers Trainer + peft",
        "",
        f"`python benchmarks/training.py` — Gemma 3 270M (from its GGUF, fp32 weights), the first {examples} "
        "shipped training examples, LoRA r 16 / alpha 32 on the attention and MLP projections, 1 epoch, batch 4, "
        f"learning rate 3e-4, cosine schedule; one run per seed ({', '.join(map(str, seeds))}), each side in its "
        "own process. Tokens/s counts real tokens (no padding); eval loss is measured after training on the "
        f"seed's held-out split ({int(results['baseline'][0]['eval_examples'])} examples for the first), in fp32, "
        "the same way for every side. Target: ≥ 1.3× the baseline's tokens/s with no "
        "worse eval loss.",
        "",
        "| trainer | tokens/s (median) | × baseline | peak RSS MB (median) | eval loss after (mean) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for side in SIDES:
        m = med[side]
        out.append(
            f"| {side} | {m['tokens_per_s']:.0f} | {m['tokens_per_s'] / base:.2f}× | {m['peak_rss_mb']:,.0f} | "
            f"{mean_loss[side]:.4f} |"
        )
    per_seed = ", ".join(
        f"{seed}: {o['eval_loss'] - b['eval_loss']:+.4f}"
        for seed, o, b in zip(seeds, results["optiq"], results["baseline"], strict=True)
    )
    out += [
        "",
        f"Eval loss, optiq − baseline, per seed: {per_seed}.",
        "",
        "The GPU target (QLoRA of an 8B model within 16 GB of GPU memory) is not measured here: the reference "
        "machine has no GPU.",
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--seeds", default="42,7,123,2024,31337", help="one run per seed (data order and LoRA init)")
    parser.add_argument("--side", choices=SIDES)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.examples)))
        return
    results: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        for side in SIDES:
            out = subprocess.run(
                [sys.executable, __file__, "--side", side, "--examples", str(args.examples)],
                env={**os.environ, "OPTIQ_BENCH_SEED": str(seed), "OPTIQ_BENCH_SIDE": side},
                capture_output=True,
                text=True,
                check=True,
            )
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(seed, side, results[side][-1], flush=True)
    section = render(results, seeds, args.examples)
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from harness import write_section

        write_section("training", section)


if __name__ == "__main__":
    main()
