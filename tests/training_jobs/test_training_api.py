"""The training API: permissions, field errors, import with line reports, job creation and cancel,
deploy and rollback through the model registry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import UserFactory
from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.models import TrainingExample, TrainingJob

pytestmark = pytest.mark.django_db


def _user_with(*codenames: str):  # type: ignore[no-untyped-def]
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="training_jobs", codename__in=codenames)
    )
    return user


def test_only_users_who_may_run_training_start_or_cancel_jobs(bearer_client, tmp_path):
    viewer = bearer_client(_user_with("view_trainingjob"))
    TrainingExampleFactory.create_batch(3)
    assert viewer.get("/api/v1/training/jobs/").status_code == 200
    denied = viewer.post("/api/v1/training/jobs/", {"base_identifier": str(tmp_path)}, format="json")
    assert denied.status_code == 403
    assert bearer_client().get("/api/v1/training/jobs/").status_code == 403


def test_creating_a_job_with_bad_hyperparameters_names_each_field_and_writes_nothing(bearer_client, tmp_path):
    client = bearer_client(_user_with("run_training_job", "view_trainingjob"))
    TrainingExampleFactory.create_batch(3)
    response = client.post(
        "/api/v1/training/jobs/",
        {
            "base_identifier": str(tmp_path / "missing.gguf"),
            "hyperparameters": {"lora_r": 0, "learning_rate": "fast", "epochs": 3},
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["hyperparameters"]
    assert "lora_r: must be between 1 and 512" in errors
    assert "learning_rate: must be a number" in errors
    assert any(e.startswith("epochs: unknown hyperparameter") for e in errors)
    assert TrainingJob.objects.count() == 0


def test_a_job_freezes_the_approved_examples_and_a_queued_job_cancels_at_once(
    bearer_client, tmp_path, django_capture_on_commit_callbacks
):
    client = bearer_client(_user_with("run_training_job", "view_trainingjob"))
    approved = TrainingExampleFactory.create_batch(3)
    TrainingExampleFactory(status="draft")
    base = tmp_path / "base.gguf"
    base.write_bytes(b"GGUF")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/training/jobs/",
            {"base_identifier": str(base), "chat_format": "gemma", "hyperparameters": {"num_epochs": 1}},
            format="json",
        )
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "queued" and job["example_ids"] == sorted(e.pk for e in approved)
    assert job["hyperparameters"]["num_epochs"] == 1.0 and job["hyperparameters"]["lora_r"] == 16
    assert len(callbacks) == 1  # the enqueue waits for the commit

    cancelled = client.post(f"/api/v1/training/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/training/jobs/{job['id']}/cancel/")
    assert again.status_code == 400 and "already cancelled" in again.json()["status"][0]


def test_uploading_a_jsonl_file_reports_bad_lines_by_number(bearer_client):
    client = bearer_client(_user_with("change_trainingexample", "approve_trainingexample"))
    upload = SimpleUploadedFile(
        "ex.jsonl", b'{"prompt": "a?", "completion": "b."}\n{oops\n', content_type="application/jsonl"
    )
    response = client.post(
        "/api/v1/training/examples/import/", {"file": upload, "status": "approved"}, format="multipart"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 1 and body["errors"][0]["line"] == 2
    assert TrainingExample.objects.get().status == "approved"


def test_bulk_review_and_filters(bearer_client):
    client = bearer_client(_user_with("change_trainingexample", "approve_trainingexample"))
    drafts = TrainingExampleFactory.create_batch(3, status="draft", category="lens-types")
    response = client.post(
        "/api/v1/training/examples/review/", {"ids": [d.pk for d in drafts[:2]], "status": "approved"}, format="json"
    )
    assert response.json() == {"changed": 2}
    listed = client.get("/api/v1/training/examples/?status=approved&category=lens-types").json()
    assert listed["count"] == 2
    missing = client.post("/api/v1/training/examples/review/", {"ids": [999999], "status": "approved"}, format="json")
    assert missing.status_code == 400 and "ids" in missing.json()


def test_readiness_endpoint(bearer_client):
    client = bearer_client(_user_with("view_trainingjob"))
    TrainingExampleFactory.create_batch(5)
    body = client.get("/api/v1/training/readiness/").json()
    assert body["ready"] is False and body["approved"] == 5 and body["split"] == {"train": 4, "eval": 1}


def test_a_job_given_no_base_model_fine_tunes_the_active_chat_model(
    bearer_client, tiny_gguf, django_capture_on_commit_callbacks
):
    from assistant.registry.services import model_version_register

    active = model_version_register(name="tiny-active", path=tiny_gguf, chat_format="gemma", activate=True)
    client = bearer_client(_user_with("run_training_job", "view_trainingjob"))
    TrainingExampleFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/v1/training/jobs/", {"hyperparameters": {"num_epochs": 1}}, format="json")
    assert response.status_code == 201, response.json()
    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert job.base_model == active and job.chat_format == "gemma" and job.base_identifier == ""


def test_without_an_active_chat_model_a_job_needs_a_base_and_nothing_is_written(bearer_client):
    client = bearer_client(_user_with("run_training_job", "view_trainingjob"))
    TrainingExampleFactory.create_batch(3)
    response = client.post("/api/v1/training/jobs/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "base_model": ["no active chat model; give a registered model version or a base identifier"]
    }
    assert TrainingJob.objects.count() == 0
