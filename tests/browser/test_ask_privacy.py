"""Who sees what on the Ask OptiQ page: one's own threads only, answers with one's own
permissions (reception gets no cost prices), and each staff role can reach the page."""

from __future__ import annotations

import pytest

from assistant.models import AssistantThread
from practice import roles
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, ask, finished, last_answer
from tests.factories import UserFactory


def test_another_users_thread_is_neither_listed_nor_reachable_by_url(open_page, practice_data, screenshot):
    owner = staff(roles.MANAGER, "manager-o")
    page = open_page(owner)
    page.goto(ASK_URL)
    ask(page, "How many progressive lenses did we sell last month?")
    finished(last_answer(page))
    thread = AssistantThread.objects.get(user=owner)

    # A superuser is no exception: conversations are their owner's alone.
    other = UserFactory(username="root-o", is_staff=True, is_superuser=True)
    intruder = open_page(other)
    intruder.goto(f"{ASK_URL}?thread={thread.pk}")
    intruder.wait_for_function("() => window.askOptiQ !== undefined")
    assert intruder.locator("#ask-title").inner_text() == "New conversation"
    assert intruder.locator("#ask-thread-list li").count() == 0
    assert intruder.locator("#ask-conversations .ask-message").count() == 0
    status = intruder.evaluate(f"fetch('/api/v1/assistant/threads/{thread.pk}/').then(r => r.status)")
    assert status == 404
    for url in (
        f"/admin/assistant/assistantthread/{thread.pk}/change/",
        f"/admin/assistant/assistantmessage/{thread.messages.last().pk}/change/",
    ):
        intruder.goto(url)
        assert "doesn’t exist" in intruder.locator(".messagelist").inner_text()
    intruder.goto("/admin/assistant/assistantthread/")
    assert "0 assistant threads" in intruder.locator("#changelist").inner_text()
    intruder.goto("/admin/assistant/assistantmessage/")
    assert "progressive" not in intruder.locator("#changelist").inner_text()
    screenshot(intruder, "superuser-sees-no-other-threads")


def test_reception_is_refused_cost_prices_as_a_refusal_not_an_error(open_page, practice_data, screenshot):
    reception = staff(roles.RECEPTION, "reception-r")
    page = open_page(reception)
    page.goto(ASK_URL)
    ask(page, "What is the cost price of the Ray-Ban frames?")
    answer = last_answer(page)
    assert finished(answer) == "Sorry, you don't have permission to see cost prices."
    assert answer.get_attribute("data-state") == "complete"
    assert "kind-refusal" in answer.get_attribute("class")
    assert answer.locator(".ask-badge-refusal").inner_text() == "Not permitted"
    assert answer.locator(".ask-badge-error").count() == 0 and answer.locator(".ask-notice-error").count() == 0
    ask(page, "Which frames are low on stock?")
    low = page.locator(".ask-answer").nth(1)
    finished(low)
    assert "FR-RB-5154" in low.locator(".ask-figure td").all_inner_texts()
    assert not [h for h in low.locator(".ask-figure th").all_text_contents() if "cost" in h.lower()]
    assert "61.20" not in page.content()
    screenshot(page, "reception-refused-cost-prices")
    dark = open_page(reception, dark=True)
    dark.goto(f"{ASK_URL}?thread={AssistantThread.objects.get(user=reception).pk}")
    finished(last_answer(dark))
    assert "kind-refusal" in dark.locator(".ask-answer").first.get_attribute("class")
    screenshot(dark, "reception-refused-cost-prices-dark")


@pytest.mark.parametrize("role", [roles.RECEPTION, roles.CLINICIAN, roles.ML_ADMIN])
def test_every_staff_role_reaches_ask_optiq_from_the_sidebar_and_is_answered_with_its_permissions(
    open_page, practice_data, role
):
    page = open_page(staff(role, f"{role}-n"))
    page.goto("/admin/practice/recall/" if role != roles.ML_ADMIN else "/admin/training_jobs/trainingjob/")
    page.click("#nav-sidebar a:text('Ask a question')")
    page.wait_for_url(f"**{ASK_URL}")
    ask(page, "Which frames are low on stock?")
    answer = last_answer(page)
    text = finished(answer)
    if role == roles.ML_ADMIN:  # the ML admin's role holds no practice data
        assert text == "Sorry, you don't have permission to see stock levels."
        assert "kind-refusal" in answer.get_attribute("class")
    else:
        assert "FR-RB-5154" in answer.locator(".ask-figure td").all_inner_texts()
