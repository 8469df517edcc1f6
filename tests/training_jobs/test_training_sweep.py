"""Nothing stays running forever: stale runs are requeued to resume, or end with the reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.models import TrainingJob
from training_jobs.services import training_job_claim, training_job_create, training_jobs_fail_stale

pytestmark = pytest.mark.django_db


def _running_job(tmp_path, **fields) -> TrainingJob:  # type: ignore[no-untyped-def]
    job = training_job_create(
        base_identifier=str(tmp_path), examples=TrainingExampleFactory.create_batch(2), enqueue=False
    )
    TrainingJob.objects.filter(pk=job.pk).update(
        status=TrainingJob.Status.RUNNING, worker="gone", heartbeat_at=timezone.now() - timedelta(hours=1), **fields
    )
    return job


def test_a_stale_run_out_of_attempts_fails_with_the_reason_and_cannot_be_claimed(
    tmp_path, django_capture_on_commit_callbacks
):
    job = _running_job(tmp_path, attempts=3)
    with django_capture_on_commit_callbacks(execute=False):
        assert training_jobs_fail_stale() == 1
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.FAILED and "stopped reporting" in job.error
    assert training_job_claim(job_id=job.pk, worker="new") is None


def test_a_stale_run_with_attempts_left_is_requeued_and_a_cancelled_one_ends_cancelled(
    tmp_path, django_capture_on_commit_callbacks
):
    resumable = _running_job(tmp_path, attempts=1)
    cancelled = _running_job(tmp_path, attempts=1, cancel_requested=True)
    fresh = _running_job(tmp_path, attempts=1)
    TrainingJob.objects.filter(pk=fresh.pk).update(heartbeat_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert training_jobs_fail_stale() == 0
    assert len(callbacks) == 1  # only the resumable one goes back on the queue
    cancelled.refresh_from_db()
    assert cancelled.status == TrainingJob.Status.CANCELLED
    assert training_job_claim(job_id=fresh.pk, worker="new") is None  # its worker is alive
    claimed = training_job_claim(job_id=resumable.pk, worker="new")
    assert claimed is not None and claimed.worker == "new" and claimed.attempts == 2
