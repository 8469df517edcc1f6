from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.training_jobs.tiny_model import build_tiny_gemma3

SHIPPED = Path(__file__).resolve().parents[2] / "training_jobs" / "data" / "examples.jsonl"


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory, django_db_setup) -> Path:  # type: ignore[no-untyped-def]
    from assistant.llm.default_model import ensure_default_model

    target = tmp_path_factory.mktemp("tiny-model") / "tiny-gemma3.gguf"
    return build_tiny_gemma3(ensure_default_model(), target)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Small models on shared cores: a thread pool waiting for a descheduled thread makes their
    forward passes several times slower than one thread is."""
    with torch_threads(1):
        yield


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


@dataclass
class RecordingReporter:
    """A trainer reporter that keeps what it is told (the job rows are the service's business)."""

    lines: list[str] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[int] = field(default_factory=list)

    def progress(self, **kwargs: Any) -> None:
        pass

    def eval_loss(self, **kwargs: Any) -> None:
        pass

    def log(self, line: str) -> None:
        self.lines.append(line)

    def checkpoint(self, *, step: int) -> None:
        self.checkpoints.append(step)

    def evaluation(self, results: dict[str, Any]) -> None:
        self.evaluations.append(dict(results))

    def flush(self) -> None:
        pass

    def should_stop(self) -> bool:
        return False


@dataclass
class TrainedRun:
    data_file: Path  # the JSONL it trained on
    output_dir: Path
    artifacts: dict[str, Any]
    evaluation: dict[str, Any]
    reporter: RecordingReporter


@pytest.fixture(scope="session")
def trained_run(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """One real run of the trainer on the tiny model (20 shipped examples, TINY_PARAMS, merged
    Q4_K_M too), shared by the tests of what a run leaves behind. Nothing may write into it."""
    from django.test import override_settings

    from training_jobs.dataset_files import parse_jsonl
    from training_jobs.hyperparameters import Hyperparameters
    from training_jobs.trainer.data import Record
    from training_jobs.trainer.pipeline import TrainingRun, run_training

    root = tmp_path_factory.mktemp("trained-run")
    data_file = root / "examples.jsonl"
    data_file.write_text("\n".join(SHIPPED.read_text(encoding="utf-8").splitlines()[:20]) + "\n", encoding="utf-8")
    with data_file.open(encoding="utf-8") as handle:
        records = [Record(r.prompt, r.completion, r.system_prompt, r.category) for r in parse_jsonl(handle).records]
    reporter = RecordingReporter()
    with override_settings(ARTIFACTS_DIR=root / "artifacts"), torch_threads(1):
        result = run_training(
            TrainingRun(
                base=str(tiny_gguf),
                chat_format="gemma",
                params=Hyperparameters.from_dict(TINY_PARAMS),
                records=records,
                output_dir=root / "run",
                merge_quantized=True,
            ),
            reporter,
        )
    return TrainedRun(data_file, root / "run", result.artifacts, result.evaluation, reporter)
