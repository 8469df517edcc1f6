"""Training data cannot carry patient data or restricted figures into a model: the worker trains on
exactly the reviewed snapshot, approval stays with reviewers, the privacy scan finds patients in
the forms people write them, and its refusals do not show patients to those who may not see them."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread
from practice import roles
from practice.patient_data_scan import PatientIndex, PatientRecord
from tests.factories import UserFactory
from tests.practice.factories import PatientFactory, user_in_role
from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.privacy_scan import privacy_scan
from training_jobs.services import (
    training_example_create_from_feedback,
    training_example_update,
    training_examples_review,
    training_job_create,
    training_job_enqueue,
    training_job_execute,
)
from training_jobs.services.jobs import training_data_changes

pytestmark = pytest.mark.django_db
NO_MODEL = "/nonexistent/base.gguf"  # the job must stop before it would load any model


def user_with(*perms: str, **kwargs):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=True, **kwargs)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


def queued_job(examples: list[TrainingExample]) -> TrainingJob:
    return training_job_create(base_identifier=NO_MODEL, examples=examples, enqueue=False)


# --- the worker trains on the snapshot the job was created with ----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_training_job_whose_example_was_edited_after_it_was_queued_fails_with_a_clear_message(celery_worker):
    examples = TrainingExampleFactory.create_batch(3)
    job = queued_job(examples)
    # Edited and approved again by a reviewer: same status, different words than were queued.
    reviewer = user_in_role(roles.MANAGER)
    edited = training_example_update(example=examples[1], completion="Every year, whatever your age.")
    training_examples_review(examples=[edited], status="approved", reviewer=reviewer)

    training_job_enqueue(job_id=job.pk)  # a real worker on the training queue picks it up
    deadline = time.monotonic() + 60
    while not TrainingJob.objects.get(pk=job.pk).is_finished:
        assert time.monotonic() < deadline, "the training worker did not finish the job"
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.FAILED
    assert job.error.startswith("The training data changed since this job was queued")
    assert f"example {examples[1].pk} was edited" in job.error
    assert "Nothing was trained" in job.error
    assert job.step == 0 and not job.artifacts


def test_a_rejected_deleted_or_returned_example_fails_the_job_naming_each():
    examples = TrainingExampleFactory.create_batch(4)
    job = queued_job(examples)
    assert training_data_changes(job) == []  # as queued: nothing to say
    TrainingExample.objects.filter(pk=examples[0].pk).update(status="rejected")
    TrainingExample.objects.filter(pk=examples[1].pk).delete()
    training_example_update(example=examples[2], prompt="How often should a child have an eye test?")

    assert training_job_execute(job_id=job.pk, worker="test:worker") == "failed"
    job.refresh_from_db()
    for said in (
        f"example {examples[0].pk} was rejected",
        f"example {examples[1].pk} was deleted",
        f"example {examples[2].pk} went back to review (draft)",
    ):
        assert said in job.error


def test_a_job_whose_data_file_changed_after_it_was_queued_fails(tmp_path: Path):
    data = tmp_path / "examples.jsonl"
    lines = [{"prompt": f"Question {n}?", "completion": f"Answer {n}."} for n in range(3)]
    data.write_text("\n".join(json.dumps(line) for line in lines))
    job = training_job_create(base_identifier=NO_MODEL, data_file=str(data), enqueue=False)
    data.write_text(data.read_text() + '\n{"prompt": "Sneaked in?", "completion": "Yes."}')
    assert training_job_execute(job_id=job.pk, worker="test:worker") == "failed"
    job.refresh_from_db()
    assert f"the data file {data} was changed" in job.error


# --- review ----------------------------------------------------------------------------------


def test_editing_an_approved_example_through_the_api_returns_it_to_review(bearer_client):
    example = TrainingExampleFactory(reviewer=user_in_role(roles.MANAGER))
    client = bearer_client(user_in_role(roles.ML_ADMIN))
    response = client.patch(
        f"/api/v1/training/examples/{example.pk}/", {"completion": "Yearly, always."}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "draft" and response.json()["reviewer"] is None
    # A category alone changes no words: it stays approved.
    other = TrainingExampleFactory()
    assert (
        client.patch(f"/api/v1/training/examples/{other.pk}/", {"category": "recalls"}, format="json").json()["status"]
        == "approved"
    )


def test_an_edit_in_the_admin_is_approved_again_only_by_a_reviewer_who_is_recorded(admin_as):
    example = TrainingExampleFactory()
    editor = user_with("training_jobs.view_trainingexample", "training_jobs.change_trainingexample")
    form = {
        "prompt": example.prompt,
        "completion": "Every year.",
        "system_prompt": "",
        "category": example.category,
        "source": example.source,
        "status": "approved",
    }
    admin_as(editor).post(f"/admin/training_jobs/trainingexample/{example.pk}/change/", form)
    example.refresh_from_db()
    assert (example.completion, example.status, example.reviewer) == ("Every year.", "draft", None)

    reviewer = user_in_role(roles.ML_ADMIN)
    admin_as(reviewer).post(
        f"/admin/training_jobs/trainingexample/{example.pk}/change/", {**form, "completion": "Every year or two."}
    )
    example.refresh_from_db()
    assert (example.completion, example.status, example.reviewer) == ("Every year or two.", "approved", reviewer)


def test_examples_cannot_be_created_or_imported_already_approved_without_the_reviewer_permission(
    bearer_client, admin_as
):
    writer = user_with(
        "training_jobs.view_trainingexample",
        "training_jobs.add_trainingexample",
        "training_jobs.change_trainingexample",
    )
    client = bearer_client(writer)
    created = client.post(
        "/api/v1/training/examples/", {"prompt": "Q?", "completion": "A.", "status": "approved"}, format="json"
    )
    assert created.status_code == 403 and "approve" in created.json()["detail"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("x.jsonl", b'{"prompt": "Q?", "completion": "A."}\n', content_type="application/jsonl")
    imported = client.post(
        "/api/v1/training/examples/import/", {"file": upload, "status": "approved"}, format="multipart"
    )
    assert imported.status_code == 403
    reviewed = client.post("/api/v1/training/examples/review/", {"ids": [1], "status": "approved"}, format="json")
    assert reviewed.status_code in (400, 403)
    admin_as(writer).post(
        "/admin/training_jobs/trainingexample/add/",
        {
            "prompt": "Q2?",
            "completion": "A2.",
            "system_prompt": "",
            "category": "",
            "source": "manual",
            "status": "approved",
        },
    )
    assert not TrainingExample.objects.exists()
    # As drafts they are welcome.
    assert (
        client.post("/api/v1/training/examples/", {"prompt": "Q?", "completion": "A."}, format="json").json()["status"]
        == "draft"
    )


def test_approving_an_example_that_names_a_patient_is_refused():
    PatientFactory(first_name="Rosalind", last_name="Featherstonehaugh")
    draft = TrainingExampleFactory(
        status="draft", prompt="Mrs Featherstonehaugh asked about varifocals. What do I say?"
    )
    with pytest.raises(ValidationError, match="a patient's name"):
        training_examples_review(examples=[draft], status="approved", reviewer=user_in_role(roles.MANAGER))
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_train_with_a_data_file_runs_the_same_privacy_scan(tmp_path: Path):
    PatientFactory(first_name="Ignatius", last_name="Pemberton-Hale", phone="07700 900777")
    data = tmp_path / "examples.jsonl"
    data.write_text(
        '{"prompt": "How often should I have an eye test?", "completion": "Every two years."}\n'
        '{"prompt": "Who called?", "completion": "Pemberton-Hale, Ignatius, on 07700-900-777."}\n'
    )
    with pytest.raises(CommandError) as refused:
        call_command("train", "--data", str(data), "--base-model", NO_MODEL)
    assert "patient data" in str(refused.value) and "line 2" in str(refused.value)
    assert not TrainingJob.objects.exists()


# --- restricted figures -----------------------------------------------------------------------


def cost_price_feedback(asker):  # type: ignore[no-untyped-def]
    thread = AssistantThread.objects.create(user=asker, title="cost")
    AssistantMessage.objects.create(thread=thread, role="user", kind="question", content="Cost of the Clubmaster?")
    answer = AssistantMessage.objects.create(
        thread=thread,
        role="assistant",
        kind="data",
        content="Ray-Ban Clubmaster: cost £61.20",
        tool_calls=[{"name": "product_cost", "arguments": {"query": "Ray-Ban Clubmaster"}}],
    )
    return AssistantFeedback.objects.create(message=answer, user=asker, rating=1)


def test_feedback_on_a_cost_price_answer_becomes_a_draft_only_for_a_reviewer_who_may_see_it_and_confirms():
    manager = user_in_role(roles.MANAGER)
    feedback = cost_price_feedback(manager)
    with pytest.raises(ValidationError, match="may not"):
        training_example_create_from_feedback(feedback=feedback, user=user_in_role(roles.ML_ADMIN))
    with pytest.raises(ValidationError, match="uses cost prices"):
        training_example_create_from_feedback(feedback=feedback, user=manager)
    assert not TrainingExample.objects.exists()
    example = training_example_create_from_feedback(feedback=feedback, user=manager, confirm_restricted_figures=True)
    assert example is not None and example.status == "draft"


def test_the_admin_offers_the_confirming_action_and_the_plain_one_refuses(admin_as):
    manager = user_in_role(roles.MANAGER)
    feedback = cost_price_feedback(manager)
    client = admin_as(manager)
    plain = client.post(
        "/admin/assistant/assistantfeedback/",
        {"action": "make_training_example", "_selected_action": [feedback.pk]},
        follow=True,
    )
    assert any("uses cost prices" in str(m) for m in plain.context["messages"])
    assert not TrainingExample.objects.exists()
    client.post(
        "/admin/assistant/assistantfeedback/",
        {"action": "make_training_example_with_figures", "_selected_action": [feedback.pk]},
    )
    assert TrainingExample.objects.count() == 1


# --- what the scan's refusals show ----------------------------------------------------------


def test_the_scan_refusal_does_not_show_the_patient_to_users_who_may_not_see_patients(bearer_client):
    PatientFactory(first_name="Winifred", last_name="Abernethy")
    TrainingExampleFactory(prompt="Winifred Abernethy's new glasses: what do I tell her?")
    TrainingExampleFactory()
    mladmin = bearer_client(user_in_role(roles.ML_ADMIN))
    refused = mladmin.post("/api/v1/training/jobs/", {"base_identifier": NO_MODEL}, format="json")
    assert refused.status_code == 400
    assert "a patient's name" in refused.content.decode() and "Abernethy" not in refused.content.decode()
    exported = mladmin.get("/api/v1/training/examples/export/")
    assert exported.status_code == 400 and "Abernethy" not in exported.content.decode()
    # Someone who may see patients is told which patient, to fix it.
    manager = bearer_client(user_in_role(roles.MANAGER))
    assert "Winifred Abernethy" in manager.get("/api/v1/training/examples/export/").content.decode()


def test_deploy_on_success_needs_the_permission_to_activate_models(bearer_client):
    TrainingExampleFactory.create_batch(2)
    runner = user_with("training_jobs.run_training_job", "training_jobs.view_trainingjob")
    response = bearer_client(runner).post(
        "/api/v1/training/jobs/", {"base_identifier": NO_MODEL, "deploy_on_success": True}, format="json"
    )
    assert response.status_code == 403 and "manage model versions" in response.json()["detail"]
    assert not TrainingJob.objects.exists()
    allowed = bearer_client(user_in_role(roles.ML_ADMIN)).post(
        "/api/v1/training/jobs/", {"base_identifier": NO_MODEL, "deploy_on_success": True}, format="json"
    )
    assert allowed.status_code == 201


# --- the scan finds patients as people write them -----------------------------------------------

PATIENT = PatientRecord(
    pk=7,
    first_name="Eleanor",
    last_name="Whitcombe",
    date_of_birth=date(1958, 4, 23),
    phone="01632 960 583",
    email="eleanor.whitcombe@example.net",
    postcode="LN4 2QD",
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Whitcombe, Eleanor asked about tints", "name"),
        ("Mrs Whitcombe collected her glasses", "name"),
        ("E. Whitcombe rang about the lab job", "name"),
        ("Dr Eleanor M. Whitcombe", "name"),
        ("ＥＬＥＡＮＯＲ ＷＨＩＴＣＯＭＢＥ", "name"),  # full-width letters
        ("Eléanor Whitcombé", "name"),  # accents
        ("Elеanor Whitcombe", "name"),  # a Cyrillic е
        ("Elea\u200bnor Whit\u200ccombe", "name"),  # zero-width characters
        ("born 23/04/1958, wants contact lenses", "date_of_birth"),
        ("DOB: 23 April 1958", "date_of_birth"),
        ("Whitcombe (1958-04-23) is due a recall", "date_of_birth"),
        ("She lives at ln42qd", "postcode"),
        ("ring +44 1632 960583 after five", "phone"),
        ("eleanor.whitcombe at example dot net", "email"),
        ("Whitcombe: R -2.25/-0.75 x 180, L -2.00 DS", "prescription"),
    ],
)
def test_the_privacy_scan_finds_a_patient_written_in_these_forms(text: str, kind: str):
    index = PatientIndex.from_records([PATIENT])
    example = TrainingExample(prompt=text, completion="Thanks.")
    assert kind in {f.kind for f in privacy_scan([example], index=index)}


@pytest.mark.parametrize(
    "text",
    [
        "Whitcombe is a village in Dorset.",  # a surname alone
        "Varifocals: R -2.25/-0.75 x 180 with an add of +2.00",  # a prescription without a name
        "The recall is due on 23/04/2027.",  # a date that is no date of birth
        "We are open until 17:30 on weekdays, call 01632 960 000.",  # another number
    ],
)
def test_the_privacy_scan_leaves_text_without_patient_data_alone(text: str):
    index = PatientIndex.from_records([PATIENT])
    assert privacy_scan([TrainingExample(prompt=text, completion="Thanks.")], index=index) == []


def test_on_the_shipped_evaluation_set_the_scan_finds_planted_patients_and_flags_no_clean_text():
    from training_jobs.privacy_evaluation import evaluate

    result = evaluate()
    # Held-out phrasings were never tuned on; the figures are in benchmarks/RESULTS.md.
    assert result["splits"]["held_out"]["recall"] >= 0.9, result["splits"]["held_out"]["by_kind"]
    assert all(found == total for found, total in result["splits"]["tuning"]["by_kind"].values())
    for clean in result["false_positives"].values():
        assert clean["flagged"] == 0, clean["examples"]
