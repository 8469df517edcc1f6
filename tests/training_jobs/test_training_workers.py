"""Training jobs on real Celery workers: queued through the broker, and a worker killed mid-run
whose job is picked up by the next worker and resumed from its checkpoint."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.training_jobs.conftest import TINY_PARAMS
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.services import training_examples_load_shipped, training_job_create

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(job: TrainingJob, predicate, timeout: float = 120) -> TrainingJob:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if predicate(job):
            return job
        time.sleep(0.1)
    raise AssertionError(
        f"job {job.pk} stuck: {job.status} step {job.step}/{job.total_steps}\n{job.log_tail}\n{job.error}"
    )


def test_a_worker_killed_mid_run_leaves_a_job_the_next_worker_resumes_from_its_checkpoint(
    tiny_gguf, worker_process, tmp_path
):
    training_examples_load_shipped()
    env = {
        "OPTIQ_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "OPTIQ_TRAINING_STALE_AFTER_S": "2",
        "OPTIQ_TRAINING_PROGRESS_INTERVAL": "0.5",
        # One torch thread: on shared cores a pool waiting for a descheduled thread makes the
        # tiny model's steps several times slower.
        "OMP_NUM_THREADS": "1",
    }
    # The threads pool keeps a worker answering pings while its one training run works (the
    # solo pool would not; the second worker takes the run over as soon as it is up).
    first = worker_process(queues="training", pool="threads", name="trainer-a@%h", extra_env=env)
    job = training_job_create(
        base_identifier=str(tiny_gguf),
        chat_format="gemma",
        examples=TrainingExample.objects.order_by("pk")[:20],
        hyperparameters={**TINY_PARAMS, "num_epochs": 15, "checkpoint_every": 3},
        output_dir=str(tmp_path / "job"),
    )
    job = _wait(job, lambda j: j.checkpoint_step >= 3)
    assert job.status == TrainingJob.Status.RUNNING and "trainer-a" in job.worker
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    killed_at = TrainingJob.objects.get(pk=job.pk)
    assert killed_at.status == TrainingJob.Status.RUNNING  # nobody is left to say otherwise

    second = worker_process(queues="training", pool="threads", name="trainer-b@%h", extra_env=env)
    try:
        job = _wait(job, lambda j: j.is_finished, timeout=120)
    except AssertionError:
        second.terminate()
        print((tmp_path / "worker-1.log").read_text(errors="replace")[-5000:])  # the fixture's log file
        raise

    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert "trainer-b" in job.worker and job.attempts == 2
    assert f"resumed from the checkpoint at step {killed_at.checkpoint_step}" in job.log_tail
    assert job.step == job.total_steps == 60
    assert [p[0] for p in job.train_loss] == list(range(1, 61))
