"""Reads for fine-tuning: example exports, job views, the default base model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from assistant.models import ModelVersion
from assistant.registry.selectors import active_model
from training_jobs.dataset_files import record_to_json
from training_jobs.models import TrainingExample, TrainingJob


def training_examples_export_lines(
    *, examples: Iterable[TrainingExample], fmt: str = "prompt_completion", check_privacy: bool = True
) -> tuple[list[str], list[Any]]:
    """JSONL lines for `examples`, and the privacy findings (no lines when there are any)."""
    from training_jobs.privacy_scan import privacy_scan

    examples = list(examples)
    if check_privacy:
        findings = privacy_scan(examples)
        if findings:
            return [], findings
    return [
        record_to_json(
            prompt=e.prompt, completion=e.completion, system_prompt=e.system_prompt, category=e.category, fmt=fmt
        )
        for e in examples
    ], []


def training_job_list() -> QuerySet[TrainingJob]:
    return TrainingJob.objects.select_related("base_model", "model_version", "created_by")


def default_base_model() -> ModelVersion | None:
    """The model a job given no base model fine-tunes: the active chat model."""
    return active_model(role="chat")


def base_tokenizer_for_readiness() -> tuple[Any, str]:
    """The default base model's tokenizer when it is a GGUF that has already been converted for
    training (cheap to load); otherwise None and readiness estimates token counts."""
    from training_jobs.trainer.loading import gguf_cache_dir, resolve_base

    try:
        version = default_base_model()
    except Exception:
        version = None
    if version is None or not version.path:
        return None, "gemma"
    try:
        spec = resolve_base(version.path)
    except ValueError:
        return None, version.chat_format or "gemma"
    if spec.gguf_path is None or not (gguf_cache_dir(spec.gguf_path) / "tokenizer_config.json").is_file():
        return None, version.chat_format or "gemma"
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gguf_cache_dir(spec.gguf_path)), version.chat_format or "gemma"
