"""Answers that are generated stream onto the Ask OptiQ page: a real inference worker serves
SmolLM2-135M-Instruct (a model that answers optics questions in its own words; the default
base model is only quoted, in one piece), uvicorn streams the server-sent events, and Stop
aborts the request, which ends the generation and stores what was written as stopped.

These fail when the server buffers the stream: the page then gets the whole answer at once."""

from __future__ import annotations

from assistant.models import AssistantMessage, AssistantThread
from practice import roles
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, ask, finished, last_answer

# A question the small model answers at length, quoting the article, so that several
# sentences pass the grounding gate one after the other.
LONG_QUESTION = "Explain in detail how progressive lenses are laid out, fitted and adapted to."
# Playwright evaluates this once per animation frame: it holds when part of an answer is on
# the screen while the answer is still being written.
SHOWN_WHILE_STREAMING = """() => [...document.querySelectorAll('.ask-pane:not([hidden]) .ask-answer')].some(
    a => a.dataset.state === 'streaming' && a.querySelector('.ask-text').textContent.trim().length > 0)"""


def stored_answer_usage(user) -> dict:
    message = AssistantMessage.objects.filter(thread__user=user, role="assistant").last()
    return {} if message is None else {"usage": message.usage, "content": message.content[:300]}


def test_an_optics_answer_streams_onto_the_page_and_cites_its_article(
    open_page, practice_data, instruct_version, inference_worker, screenshot
):
    inference_worker()
    manager = staff(roles.MANAGER, "manager-s")
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.wait_for_function(SHOWN_WHILE_STREAMING, timeout=120_000)
    partial = last_answer(page).locator(".ask-text").inner_text().strip()
    screenshot(page, "manager-optics-answer-streaming")
    answer = last_answer(page)
    final = finished(answer, timeout=180_000)
    # Tokens arrived, and were shown, before the answer was complete.
    assert final.startswith(partial) and len(partial) < len(final), stored_answer_usage(manager)
    timing = page.evaluate("window.askOptiQ.timings.at(-1)")
    assert timing["tokens"] >= 2 and timing["firstToken"] < timing["done"]
    print(
        f"Enter to first token on screen: {timing['firstTokenShown'] - timing['enter']:.0f} ms; "
        f"to the whole answer: {timing['done'] - timing['enter']:.0f} ms"
    )
    article = answer.locator(".ask-source-article a").first
    assert article.inner_text() == "Progressive (varifocal) lenses"
    assert answer.locator(".ask-source-article blockquote").first.inner_text().strip()
    screenshot(page, "manager-optics-answer")
    article.click()
    page.wait_for_url(f"**/admin/assistant/knowledgedocument/{practice_data['document'].pk}/change/")

    thread = AssistantThread.objects.get(user=manager)
    dark = open_page(manager, dark=True)
    dark.goto(f"{ASK_URL}?thread={thread.pk}")  # a reload shows the thread as stored
    stored = AssistantMessage.objects.get(thread=thread, role="assistant")
    assert finished(last_answer(dark)) == stored.content
    screenshot(dark, "manager-optics-answer-dark")


def test_stop_keeps_what_was_written_and_the_answer_is_stored_as_stopped(
    open_page, practice_data, instruct_version, inference_worker, screenshot
):
    inference_worker()
    manager = staff(roles.MANAGER, "manager-x")
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.wait_for_function(SHOWN_WHILE_STREAMING, timeout=120_000)
    page.click("#ask-stop")
    answer = last_answer(page)
    assert answer.get_attribute("data-state") == "stopped"
    assert "Stopped" in answer.locator(".ask-badges").inner_text()
    kept = answer.locator(".ask-text").inner_text().strip()
    assert kept
    answer.locator(".ask-feedback .ask-helpful").wait_for(timeout=30_000)  # the stored message was found
    stored = AssistantMessage.objects.get(pk=answer.get_attribute("data-message-id"))
    assert stored.status == "stopped", stored_answer_usage(manager)
    assert stored.content.strip() and stored.content.strip().startswith(kept[:40])
    screenshot(page, "manager-stopped-answer")
    page.reload()
    assert "Stopped" in last_answer(page).locator(".ask-badges").inner_text()


def test_a_question_can_be_asked_in_another_thread_while_an_answer_is_written(
    open_page, practice_data, instruct_version, inference_worker
):
    inference_worker()
    page = open_page(staff(roles.MANAGER, "manager-c"))
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.locator("#ask-thread-list li.streaming").wait_for()
    page.click("#ask-new")
    ask(page, "Which frames are low on stock?")
    second = last_answer(page)
    assert "1 frames are at or below their reorder level" in finished(second)
    page.locator("#ask-thread-list li", has_text="Explain in detail").locator("a").click()
    first = last_answer(page)
    assert finished(first, timeout=180_000)
    timings = page.evaluate("window.askOptiQ.timings")
    assert timings[1]["enter"] < timings[0]["done"]  # asked while the first was still being written
    assert page.locator("#ask-thread-list li").count() == 2
