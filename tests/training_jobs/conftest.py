from __future__ import annotations

from pathlib import Path

import pytest

from tests.training_jobs.tiny_model import build_tiny_gemma3


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, django_db_setup) -> Path:  # type: ignore[no-untyped-def]
    from assistant.llm.default_model import ensure_default_model

    target = tmp_path_factory.mktemp("tiny-model") / "tiny-gemma3.gguf"
    return build_tiny_gemma3(ensure_default_model(), target)


@pytest.fixture
def artifacts_dir(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.OPTIQ_TRAINING_PROGRESS_INTERVAL = 0.0
    return settings.ARTIFACTS_DIR


TINY_PARAMS = {
    "lora_r": 8,
    "lora_alpha": 32,
    "learning_rate": 5e-3,
    "batch_size": 4,
    "num_epochs": 2,
    "max_seq_length": 192,
    "eval_fraction": 0.2,
    "checkpoint_every": 2,
    "lora_dropout": 0.0,
}
