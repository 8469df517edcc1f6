"""The real pipeline on a tiny Gemma 3 built in the test: train, export, llama.cpp, cancel, resume."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.training_jobs.conftest import TINY_PARAMS
from training_jobs.models import TrainingJob
from training_jobs.services import (
    training_examples_load_shipped,
    training_job_cancel,
    training_job_claim,
    training_job_create,
)
from training_jobs.tasks import training_job_run

pytestmark = pytest.mark.django_db(transaction=True)

PROMPT = "<start_of_turn>user\nWhat is a varifocal lens?<end_of_turn>\n<start_of_turn>model\n"


def _answer(base: Path, lora: Path | None) -> str:
    from training_jobs.trainer.evaluation import load_llama

    llm = load_llama(model_path=str(base), lora_path=str(lora) if lora else None, n_ctx=256, verbose=False, seed=0)
    try:
        return llm(PROMPT, max_tokens=12, temperature=0.0)["choices"][0]["text"]
    finally:
        llm.close()


def _job(tiny_gguf: Path, **params: object) -> TrainingJob:
    from training_jobs.models import TrainingExample

    training_examples_load_shipped()
    examples = TrainingExample.objects.order_by("pk")[:20]
    return training_job_create(
        base_identifier=str(tiny_gguf),
        chat_format="gemma",
        examples=examples,
        hyperparameters={**TINY_PARAMS, **params},
        enqueue=False,
        merge_quantized=True,
    )


def test_a_job_trains_exports_a_gguf_lora_that_changes_llama_cpp_answers(tiny_gguf, artifacts_dir):
    job = _job(tiny_gguf)

    assert training_job_run(job.pk) == "succeeded"

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.step == job.total_steps == 8
    assert [p[0] for p in job.train_loss] == list(range(1, 9))
    assert job.train_loss[-1][1] < job.train_loss[0][1]
    evaluation = job.evaluation
    assert evaluation["fine_tuned_eval_loss"] < evaluation["base_eval_loss"]
    assert len(evaluation["side_by_side"]) == 3
    assert (Path(job.artifacts["peft_adapter"]) / "adapter_model.safetensors").is_file()
    assert _answer(tiny_gguf, Path(job.artifacts["gguf_lora"])) != _answer(tiny_gguf, None)
    merged = Path(job.artifacts["merged_gguf"])
    assert merged.name == "merged-q4_k_m.gguf", job.artifacts.get("merged_q4_k_m_error")
    assert _answer(merged, None) != _answer(tiny_gguf, None)
    # A second delivery of the same task finds nothing to claim.
    assert training_job_run(job.pk) == "skipped"

    # Deploy: registered with the adapter and activated; rollback returns to the base.
    from assistant.registry.selectors import active_model
    from assistant.registry.services import model_version_register
    from training_jobs.services import training_job_deploy, training_job_rollback

    base = model_version_register(name="tiny-base", path=tiny_gguf, chat_format="gemma", activate=True)
    version = training_job_deploy(job=job)
    assert active_model(role="chat") == version
    assert version.lora_path == job.artifacts["gguf_lora"] and version.path == str(tiny_gguf)
    assert training_job_rollback() == base and active_model(role="chat") == base


def test_a_second_delivery_does_not_start_a_second_run(tiny_gguf, artifacts_dir):
    job = _job(tiny_gguf)
    assert training_job_claim(job_id=job.pk, worker="first-worker") is not None

    assert training_job_run(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.worker == "first-worker" and job.attempts == 1


def test_cancel_stops_within_a_step_keeps_the_checkpoint_and_a_lost_run_resumes_from_it(tiny_gguf, artifacts_dir):
    job = _job(tiny_gguf, num_epochs=20, checkpoint_every=100)
    outcome: list[str] = []

    def run() -> None:
        try:
            outcome.append(training_job_run(job.pk))
        finally:
            connection.close()

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 120
    while TrainingJob.objects.get(pk=job.pk).step < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled_at = TrainingJob.objects.get(pk=job.pk).step
    training_job_cancel(job=job)
    runner.join(60)

    job.refresh_from_db()
    assert outcome == ["cancelled"] and job.status == TrainingJob.Status.CANCELLED
    assert cancelled_at <= job.step <= cancelled_at + 1
    assert job.checkpoint_step == job.step
    assert (Path(job.output_dir) / "checkpoints" / f"step-{job.step}" / "state.pt").is_file()

    # What a killed worker leaves behind: running, heartbeat long gone. The redelivered task
    # takes it over and continues from the checkpoint.
    stopped = job.step
    TrainingJob.objects.filter(pk=job.pk).update(
        status=TrainingJob.Status.RUNNING,
        cancel_requested=False,
        worker="dead-worker",
        heartbeat_at=timezone.now() - timedelta(hours=1),
        hyperparameters={**job.hyperparameters, "max_steps": stopped + 2},
    )
    assert training_job_run(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED
    assert f"resumed from the checkpoint at step {stopped}" in job.log_tail
    assert job.step == stopped + 2
    assert [p[0] for p in job.train_loss] == list(range(1, stopped + 3))


def test_the_train_command_runs_the_seeds_command_line_on_a_jsonl_file(tiny_gguf, artifacts_dir, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    data = tmp_path / "qa.jsonl"
    shipped = Path(__file__).resolve().parents[2] / "training_jobs" / "data" / "examples.jsonl"
    data.write_text("\n".join(shipped.read_text(encoding="utf-8").splitlines()[:12]), encoding="utf-8")
    out = StringIO()
    call_command(
        "train",
        "--base-model",
        str(tiny_gguf),
        "--data",
        str(data),
        "--output-dir",
        str(tmp_path / "out"),
        "--num-epochs",
        "1",
        "--chat-format",
        "gemma",
        stdout=out,
    )

    assert "status: succeeded" in out.getvalue()
    job = TrainingJob.objects.get()
    assert job.data_file == str(data) and job.example_ids == []
    assert (tmp_path / "out" / "adapter.gguf").is_file() and (
        tmp_path / "out" / "adapter" / "adapter_config.json"
    ).is_file()


def test_resume_skips_a_checkpoint_left_half_written_by_a_killed_worker(tmp_path):
    from training_jobs.trainer.loop import latest_checkpoint

    checkpoints = tmp_path / "checkpoints"
    for name in ("step-4", "step-10", "step-12.partial"):
        (checkpoints / name).mkdir(parents=True)
        (checkpoints / name / "state.pt").write_bytes(b"x")
    (checkpoints / "step-11").mkdir()  # a directory without its state is not a checkpoint either
    assert latest_checkpoint(tmp_path) == checkpoints / "step-10"
