"""Training jobs on the real pipeline with a tiny Gemma 3 built in the test: one walk from a
queued job to the deployed model and back, then one behaviour per test (redelivery, cancel,
resume after a lost worker, failure, the seed's command line)."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.training_jobs.conftest import SHIPPED, TINY_PARAMS
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.services import (
    training_examples_load_shipped,
    training_job_cancel,
    training_job_claim,
    training_job_create,
    training_job_rollback,
)
from training_jobs.tasks import training_job_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("one_torch_thread")]


def _job(tiny_gguf: Path | None, **params: object) -> TrainingJob:
    training_examples_load_shipped()
    return training_job_create(
        base_identifier=str(tiny_gguf) if tiny_gguf else "",
        chat_format="gemma",
        examples=TrainingExample.objects.order_by("pk")[:20],
        hyperparameters={**TINY_PARAMS, **params},
        enqueue=False,
    )


def test_a_job_without_a_base_trains_the_active_model_on_its_task_and_is_deployed_then_rolled_back(
    tiny_gguf, artifacts_dir
):
    from assistant.registry.selectors import active_model
    from assistant.registry.services import model_version_register

    base = model_version_register(name="tiny-base", path=tiny_gguf, chat_format="gemma", activate=True)
    training_examples_load_shipped()
    job = training_job_create(
        examples=TrainingExample.objects.order_by("pk")[:20],
        hyperparameters=TINY_PARAMS,
        deploy_on_success=True,
        enqueue=False,
    )
    assert job.base_model == base and job.chat_format == "gemma"

    assert training_job_run(job.pk) == "succeeded"

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.step == job.total_steps == 8 and job.checkpoint_step == 8
    assert [p[0] for p in job.train_loss] == list(range(1, 9))
    assert job.train_loss[-1][1] < job.train_loss[0][1]
    assert [p[0] for p in job.eval_loss] == [0, 4, 8]
    assert job.evaluation["fine_tuned_eval_loss"] < job.evaluation["base_eval_loss"]
    assert len(job.evaluation["side_by_side"]) == 3
    assert f"{job.evaluation['mode']}: {job.evaluation['mode_reason']}" in job.log_tail
    version = active_model(role="chat")
    assert version == job.model_version and version.base == base
    assert version.path == str(tiny_gguf) and version.lora_path == job.artifacts["gguf_lora"]
    assert training_job_rollback() == base and active_model(role="chat") == base


def test_a_second_delivery_does_not_start_a_second_run(tiny_gguf, artifacts_dir):
    job = _job(tiny_gguf)
    assert training_job_claim(job_id=job.pk, worker="first-worker") is not None

    assert training_job_run(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.worker == "first-worker" and job.attempts == 1


def test_a_delivery_of_a_finished_job_finds_nothing_to_run(tiny_gguf, artifacts_dir):
    job = _job(tiny_gguf)
    TrainingJob.objects.filter(pk=job.pk).update(status=TrainingJob.Status.SUCCEEDED, attempts=1)

    assert training_job_run(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED and job.attempts == 1 and job.step == 0


def test_cancel_stops_a_running_job_within_a_step_and_keeps_its_checkpoint(tiny_gguf, artifacts_dir):
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
    assert job.checkpoint_step == job.step and f"checkpoint at step {job.step} is kept" in job.error
    assert (Path(job.output_dir) / "checkpoints" / f"step-{job.step}" / "state.pt").is_file()


def test_a_run_whose_worker_died_is_taken_over_and_resumes_from_its_checkpoint(trained_run, artifacts_dir, tmp_path):
    # What a killed worker leaves: the job running under a worker whose heartbeat is long gone,
    # and its checkpoint (here: the shared trained run's, at step 8, copied).
    output = tmp_path / "job"
    shutil.copytree(trained_run.output_dir, output)
    job = training_job_create(
        base_identifier=trained_run.artifacts["base_gguf"],
        chat_format="gemma",
        data_file=str(trained_run.data_file),
        hyperparameters={**TINY_PARAMS, "num_epochs": 3, "max_steps": 10},
        output_dir=str(output),
        enqueue=False,
    )
    TrainingJob.objects.filter(pk=job.pk).update(
        status=TrainingJob.Status.RUNNING,
        worker="dead-worker",
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    assert training_job_run(job.pk) == "succeeded"

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED and job.attempts == 2 and job.worker != "dead-worker"
    assert "resumed from the checkpoint at step 8" in job.log_tail
    assert job.step == 10 and [p[0] for p in job.train_loss] == [9, 10]


def test_a_run_that_fails_ends_failed_with_the_reason(tiny_gguf, artifacts_dir):
    # The tiny model has no chat template, so a job without a chat format cannot be formatted.
    training_examples_load_shipped()
    job = training_job_create(
        base_identifier=str(tiny_gguf),
        examples=TrainingExample.objects.order_by("pk")[:20],
        hyperparameters=TINY_PARAMS,
        enqueue=False,
    )

    assert training_job_run(job.pk) == "failed"

    job.refresh_from_db()
    assert job.status == TrainingJob.Status.FAILED and job.finished_at is not None
    assert job.error.startswith("ValueError: chat_format: the base model has no chat template")
    assert "loading " in job.log_tail  # what the run said before it failed is kept


def test_the_train_command_runs_the_seeds_command_line_on_a_jsonl_file(tiny_gguf, artifacts_dir, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(SHIPPED.read_text(encoding="utf-8").splitlines()[:12]), encoding="utf-8")
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
