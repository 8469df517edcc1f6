"""The admin pages an ML admin uses: readiness, import, starting a job, watching it, cancelling it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import UserFactory
from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.models import TrainingExample, TrainingJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_an_ml_admin_starts_watches_and_cancels_a_job_in_the_admin(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    TrainingExampleFactory.create_batch(4)
    base = tmp_path / "base.gguf"
    base.write_bytes(b"GGUF")
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(
            "/admin/training_jobs/trainingjob/add/",
            {
                "name": "first",
                "base_identifier": str(base),
                "chat_format": "gemma",
                "hyperparameters": '{"num_epochs": 1}',
            },
        )
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/trainingjob/{job.pk}/change/")
    assert job.hyperparameters["num_epochs"] == 1.0 and len(job.example_ids) == 4

    page = admin_client.get(f"/admin/training_jobs/trainingjob/{job.pk}/change/").content.decode()
    assert "tj-chart" in page and "Cancel this job" in page
    admin_client.post(f"/admin/training_jobs/trainingjob/{job.pk}/cancel/")
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.CANCELLED


def test_readiness_and_import_pages(admin_client):
    TrainingExampleFactory.create_batch(3)
    page = admin_client.get("/admin/training_jobs/trainingjob/readiness/").content.decode()
    assert "Not ready" in page and "at least 50 are needed" in page
    upload = SimpleUploadedFile("e.jsonl", b'{"prompt": "p?", "completion": "c."}\nbroken\n')
    page = admin_client.post(
        "/admin/training_jobs/trainingexample/import/", {"file": upload, "status": "draft"}
    ).content.decode()
    assert "1 imported" in page and "invalid JSON" in page
    assert TrainingExample.objects.filter(status="draft").count() == 1


def test_bulk_approve_in_the_admin(admin_client):
    drafts = TrainingExampleFactory.create_batch(2, status="draft")
    admin_client.post(
        "/admin/training_jobs/trainingexample/",
        {
            "action": "approve",
            "_selected_action": [d.pk for d in drafts],
        },
    )
    assert TrainingExample.objects.filter(status="approved").count() == 2


def test_the_feedback_admin_makes_a_draft_training_example_from_a_correction(admin_client):
    from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread

    user = UserFactory()
    thread = AssistantThread.objects.create(user=user)
    AssistantMessage.objects.create(thread=thread, role="user", content="How long do varifocals take to adapt to?")
    answer = AssistantMessage.objects.create(thread=thread, role="assistant", kind="knowledge", content="A day.")
    feedback = AssistantFeedback.objects.create(
        message=answer, user=user, rating=-1, corrected_answer="Most people adapt within one to two weeks."
    )

    response = admin_client.post(
        "/admin/assistant/assistantfeedback/",
        {"action": "make_training_example", "_selected_action": [feedback.pk]},
        follow=True,
    )

    assert "1 draft training example(s) made" in response.content.decode()
    example = TrainingExample.objects.get()
    assert example.status == "draft" and example.source == "assistant_feedback"
    assert example.prompt == "How long do varifocals take to adapt to?"
    assert example.completion == "Most people adapt within one to two weeks."
    feedback.refresh_from_db()
    assert feedback.training_example_id == example.pk
