"""The Ask OptiQ page in Chromium, against the real server (uvicorn), the real database and,
where an answer is generated, a real inference worker."""

from __future__ import annotations

import re

from practice import roles
from tests.browser.conftest import staff


def ask(page, question: str) -> None:
    page.fill("#ask-input", question)
    page.press("#ask-input", "Enter")


def last_answer(page):
    return page.locator("#ask-conversations .ask-pane:not([hidden]) .ask-answer").last


def test_a_manager_asks_a_data_question_and_sees_the_figure_and_its_table(open_page, practice_data, screenshot):
    manager = staff(roles.MANAGER, "manager-b")
    page = open_page(manager)
    page.click("text=Ask OptiQ")
    page.wait_for_url("**/assistant/assistantthread/ask/**")
    ask(page, "How many progressive lenses did we sell last month?")
    answer = last_answer(page)
    answer.locator(".ask-feedback .ask-helpful").wait_for()
    assert answer.get_attribute("data-state") == "complete"
    text = answer.locator(".ask-text").inner_text()
    assert re.search(r"We sold 3 progressive lenses .* for £1,185\.00", text), text
    figure = answer.locator(".ask-figure")
    assert "Units" in figure.inner_text() and "3" in figure.locator("td").all_inner_texts()
    assert "£1,185.00" in figure.locator("td").all_inner_texts()
    answer.locator(".ask-tools summary").click()
    assert '"lens_type": "progressive"' in answer.locator(".ask-tools pre").inner_text()
    screenshot(page, "manager-data-answer")
