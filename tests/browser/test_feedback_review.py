"""Feedback from the Ask OptiQ page, and its review by the ML admin: the question and answer
are shown to the reviewer only where they touched nothing the reviewer may not see."""

from __future__ import annotations

from assistant.models import AssistantFeedback
from practice import roles
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, ask, finished, last_answer
from training_jobs.models import TrainingExample

CORRECTION = (
    "Progressive lenses (varifocals) change power smoothly from the distance prescription at the top "
    "to the full reading addition at the bottom, with no visible line."
)


def test_feedback_from_the_page_becomes_a_draft_training_example_for_the_ml_admin(
    open_page, practice_data, article, default_version, screenshot
):
    manager = staff(roles.MANAGER, "manager-f")
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, "How many progressive lenses did we sell last month?")
    data_answer = last_answer(page)
    finished(data_answer)
    data_answer.locator(".ask-helpful").click()
    data_answer.locator(".ask-feedback[data-recorded='1']").wait_for()
    assert "Feedback recorded: helpful" in data_answer.locator(".ask-feedback-status").inner_text()

    ask(page, "What are progressive lenses?")
    optics = last_answer(page)
    finished(optics)
    optics.locator(".ask-unhelpful").click()
    optics.locator("textarea[name=corrected_answer]").fill(CORRECTION)
    optics.locator("textarea[name=comment]").fill("Say what they are before quoting the article.")
    optics.locator("button:text('Send feedback')").click()
    optics.locator(".ask-feedback[data-recorded='-1']").wait_for()
    assert "not helpful, with your correction" in optics.locator(".ask-feedback-status").inner_text()
    screenshot(page, "manager-feedback-recorded")
    assert AssistantFeedback.objects.filter(user=manager).count() == 2

    reviewer = open_page(staff(roles.ML_ADMIN, "mladmin-f"))
    reviewer.goto("/admin/assistant/assistantfeedback/")
    rows = reviewer.locator("#result_list tbody tr")
    assert rows.count() == 2
    listing = reviewer.locator("#result_list").inner_text()
    assert "What are progressive lenses?" in listing and CORRECTION[:40] not in listing  # the list shows no correction
    assert "How many progressive lenses" not in listing and "£1,185.00" not in listing
    assert "hidden: it used practice data you may not see (practice.view_reports)" in listing
    screenshot(reviewer, "mladmin-feedback-review")
    for checkbox in reviewer.locator("#result_list input.action-select").all():
        checkbox.check()
    reviewer.select_option("select[name=action]", "make_training_example")
    reviewer.click("button[name=index]")
    messages = reviewer.locator(".messagelist").inner_text()
    assert "1 draft training example(s) made" in messages
    assert "You may not read this answer: it used practice data you may not see" in messages
    example = TrainingExample.objects.get()
    assert example.status == "draft" and example.prompt == "What are progressive lenses?"
    assert example.completion == CORRECTION
    reviewer.goto("/admin/training_jobs/trainingexample/")
    assert "What are progressive lenses?" in reviewer.locator("#result_list").inner_text()
    screenshot(reviewer, "mladmin-draft-training-example")
