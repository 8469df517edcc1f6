"""The Ask OptiQ page in Chromium, against the real server (uvicorn), the real database and,
where an answer is generated, a real inference worker."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from assistant.models import AssistantThread
from practice import roles
from tests.browser.conftest import staff

ASK_URL = "/admin/assistant/assistantthread/ask/"


def ask(page, question: str) -> None:
    page.fill("#ask-input", question)
    page.press("#ask-input", "Enter")


def last_answer(page):
    return page.locator("#ask-conversations .ask-pane:not([hidden]) .ask-answer").last


def finished(answer, timeout: float = 60_000) -> str:
    """Wait until the answer is stored (its feedback buttons appear); return its text."""
    answer.locator(".ask-feedback .ask-helpful").wait_for(timeout=timeout)
    return answer.locator(".ask-text").inner_text()


def test_a_manager_asks_a_data_question_and_sees_the_figure_and_its_table(open_page, practice_data, screenshot):
    page = open_page(staff(roles.MANAGER, "manager-b"))
    page.click("#content-main a:text('Ask OptiQ')")  # first on the admin index
    page.wait_for_url(f"**{ASK_URL}")
    ask(page, "How many progressive lenses did we sell last month?")
    answer = last_answer(page)
    text = finished(answer)
    assert answer.get_attribute("data-state") == "complete"
    # The period is stated with its dates, and the figures are the demo data's.
    end = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    period = f"Last month (1–{end.day} {end:%B %Y})"
    assert text.startswith(period), text
    assert re.search(r"progressive lenses.*3 units sold, £1,185\.00 revenue", text), text
    cells = answer.locator(".ask-figure td").all_inner_texts()
    assert "3" in cells and "£1,185.00" in cells
    # The figures staff read, not the query's machinery (the disclosure below shows the query).
    rows = answer.locator(".ask-figure th").all_inner_texts()
    assert {"Units", "Revenue", "Sales"} <= set(rows) and not {"Query", "Source", "Value text", "Scope"} & set(rows)
    # What read the question is said (no router is active: the parser), and the query is disclosed.
    assert answer.locator(".ask-figure").get_attribute("data-planner") == "parser"
    assert answer.locator(".ask-read-by").inner_text().startswith("Read by the question parser")
    answer.locator(".ask-tools summary").click()
    assert '"lens_type": "progressive"' in answer.locator(".ask-tools pre").inner_text()
    screenshot(page, "manager-data-answer")

    ask(page, "Which frames are low on stock?")
    low = page.locator(".ask-answer").nth(1)
    finished(low)
    headers = low.locator(".ask-figure th").all_text_contents()
    assert "SKU" in headers and "Reorder level" in headers and "Product id" not in headers
    assert "FR-RB-5154" in low.locator(".ask-figure td").all_inner_texts()
    product = low.locator(".ask-source-product a").first
    assert product.get_attribute("href").endswith(f"/admin/practice/product/{practice_data['frame'].pk}/change/")

    ask(page, "What were our best-selling products last month?")
    top = page.locator(".ask-answer").nth(2)
    finished(top)
    assert {"SKU", "Units", "Revenue"} <= set(top.locator(".ask-figure thead th").all_text_contents())
    assert {"SL-VX-CM16", "3", "£1,185.00"} <= set(top.locator(".ask-figure tbody td").all_inner_texts())


def test_threads_are_listed_newest_first_renamed_searched_and_deleted(open_page, practice_data, screenshot):
    manager = staff(roles.MANAGER, "manager-t")
    page = open_page(manager)
    page.goto(ASK_URL)
    page.fill("#ask-input", "Which frames")
    page.press("#ask-input", "Shift+Enter")
    page.type("#ask-input", "are low on stock?")
    assert page.input_value("#ask-input") == "Which frames\nare low on stock?"
    assert page.locator(".ask-question").count() == 0  # Shift+Enter made a new line, nothing was sent
    page.press("#ask-input", "Enter")
    finished(last_answer(page))
    page.click("#ask-new")
    ask(page, "Which lab jobs are ready for collection?")
    lab = last_answer(page)
    finished(lab)
    assert practice_data["lab_job"].reference in lab.locator(".ask-figure td").all_inner_texts()
    titles = page.locator("#ask-thread-list .ask-thread-title")
    page.wait_for_function("() => document.querySelectorAll('#ask-thread-list li').length === 2")
    assert titles.all_inner_texts() == ["Which lab jobs are ready for collection?", "Which frames are low on stock?"]

    page.click("#ask-rename")
    page.fill("#ask-rename-input", "Collections today")
    page.press("#ask-rename-input", "Enter")
    page.wait_for_function("() => document.querySelector('#ask-title').textContent === 'Collections today'")
    assert AssistantThread.objects.filter(user=manager, title="Collections today").exists()
    page.fill("#ask-search", "collections")
    page.wait_for_function("() => document.querySelectorAll('#ask-thread-list li').length === 1")
    assert titles.all_inner_texts() == ["Collections today"]
    screenshot(page, "manager-thread-search")
    page.fill("#ask-search", "")
    page.wait_for_function("() => document.querySelectorAll('#ask-thread-list li').length === 2")
    page.click("#ask-delete")  # confirmed by the page's dialog handler
    page.wait_for_function("() => document.querySelectorAll('#ask-thread-list li').length === 1")
    assert list(AssistantThread.objects.filter(user=manager).values_list("title", flat=True)) == [
        "Which frames are low on stock?"
    ]
