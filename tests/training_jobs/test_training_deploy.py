"""Deploying a finished job through the model registry: the base GGUF with the job's adapter (or
the merged GGUF) becomes the active chat model; rollback returns to the one before."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.models import TrainingJob
from training_jobs.services import training_job_create, training_job_deploy, training_job_rollback

pytestmark = pytest.mark.django_db


@pytest.fixture
def base(tiny_gguf):  # type: ignore[no-untyped-def]
    from assistant.registry.services import model_version_register

    return model_version_register(name="tiny-base", path=tiny_gguf, chat_format="gemma", activate=True)


def _succeeded_job(base, trained_run) -> TrainingJob:  # type: ignore[no-untyped-def]
    job = training_job_create(base_model=base, examples=TrainingExampleFactory.create_batch(2), enqueue=False)
    TrainingJob.objects.filter(pk=job.pk).update(status=TrainingJob.Status.SUCCEEDED, artifacts=trained_run.artifacts)
    return job


def test_deploying_a_succeeded_job_activates_the_base_gguf_with_its_adapter(base, trained_run):
    from assistant.registry.selectors import active_model

    job = _succeeded_job(base, trained_run)

    version = training_job_deploy(job=job)

    assert active_model(role="chat") == version and version.name == f"tiny-base-ft-job{job.pk}"
    assert version.path == base.path and version.lora_path == trained_run.artifacts["gguf_lora"]
    assert version.base == base and version.chat_format == "gemma"
    job.refresh_from_db()
    assert job.model_version == version
    assert training_job_deploy(job=job) == version  # deploying again registers nothing new


def test_deploying_the_merged_gguf_registers_it_without_an_adapter(base, trained_run):
    version = training_job_deploy(job=_succeeded_job(base, trained_run), use_merged=True, activate=False)
    assert version.path == trained_run.artifacts["merged_gguf"] and version.lora_path == ""
    assert not version.is_active and base.__class__.objects.get(pk=base.pk).is_active


def test_only_a_succeeded_job_can_be_deployed(base):
    job = training_job_create(base_model=base, examples=TrainingExampleFactory.create_batch(2), enqueue=False)
    with pytest.raises(ValidationError) as error:
        training_job_deploy(job=job)
    assert error.value.message_dict == {"status": ["only a succeeded job can be deployed"]}


def test_rollback_returns_to_the_model_active_before_the_deploy(base, trained_run):
    from assistant.registry.selectors import active_model

    training_job_deploy(job=_succeeded_job(base, trained_run))
    assert training_job_rollback() == base and active_model(role="chat") == base
    with pytest.raises(ValidationError) as error:
        training_job_rollback()
    assert "no earlier chat model" in error.value.message_dict["role"][0]
