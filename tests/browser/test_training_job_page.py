"""The buttons of a training job's page post to their own views. The page's extra controls sit
inside the admin's change form, where a nested form is dropped by the browser: the buttons must
still reach the cancel and deploy views, not save the change form."""

from __future__ import annotations

from practice import roles
from tests.browser.conftest import staff


def _message(page) -> str:  # type: ignore[no-untyped-def]
    return (page.locator("ul.messagelist").text_content() or "").lower()


def test_cancel_and_deploy_reach_their_views_from_the_job_page(open_page, db, screenshot):
    from training_jobs.models import TrainingJob

    queued = TrainingJob.objects.create(name="queued job", status="queued")
    trained = TrainingJob.objects.create(name="trained job", status="succeeded", step=4, total_steps=4)
    page = open_page(staff(roles.ML_ADMIN, "mladmin-t"))

    page.goto(f"/admin/training_jobs/trainingjob/{queued.pk}/change/")
    page.get_by_role("button", name="Cancel this job").click()
    page.wait_for_load_state()
    assert "cancel requested" in _message(page)
    queued.refresh_from_db()
    assert queued.status == "cancelled"

    # A job without a GGUF result cannot be deployed: the deploy view says why (the change form
    # would have said "changed successfully").
    page.goto(f"/admin/training_jobs/trainingjob/{trained.pk}/change/")
    page.get_by_role("button", name="Deploy (register and activate)").click()
    page.wait_for_load_state()
    assert "this job has no gguf to deploy" in _message(page)
    assert page.url.endswith(f"/admin/training_jobs/trainingjob/{trained.pk}/change/")
    trained.refresh_from_db()
    assert trained.model_version is None
    screenshot(page, "mladmin-training-job-deploy-refused")
