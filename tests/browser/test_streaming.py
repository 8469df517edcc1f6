"""Answers stream onto the Ask OptiQ page: a real inference worker serves SmolLM2-135M-Instruct
(a model that answers optics questions in its own words; the default base model is only
quoted), uvicorn streams the server-sent events, and Stop aborts the request, which ends the
generation and stores what was written as stopped.

They fail when the server buffers the stream: the page then gets the sources, the tokens and
the end of the answer in one piece, and no frame is ever drawn in between. The page counts the
frames it draws while an answer is still being written (`window.askOptiQ.timings`)."""

from __future__ import annotations

from assistant.models import AssistantMessage, AssistantThread
from practice import roles
from tests.browser.conftest import staff
from tests.browser.test_ask_page import ASK_URL, ask, finished, last_answer

# A question the small model answers at length, quoting the article, so that several
# sentences pass the grounding gate one after the other.
LONG_QUESTION = "Explain in detail how progressive lenses are laid out, fitted and adapted to."
# Playwright evaluates this once per animation frame: it holds when the cited article is on the
# screen while the answer is still being written (the model takes seconds to write it).
CITED_WHILE_WRITING = """() => [...document.querySelectorAll('.ask-pane:not([hidden]) .ask-answer')].some(
    a => !a.dataset.messageId && a.dataset.state !== 'stopped' && a.querySelector('.ask-source-article a'))"""


def stored_answer_usage(user) -> dict:
    message = AssistantMessage.objects.filter(thread__user=user, role="assistant").last()
    return {} if message is None else {"usage": message.usage, "content": message.content[:300]}


def test_an_optics_answer_streams_onto_the_page_and_cites_its_article(
    open_page, practice_data, article, instruct_version, inference_worker, screenshot
):
    inference_worker()
    manager = staff(roles.MANAGER, "manager-s")
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.wait_for_function(CITED_WHILE_WRITING, timeout=120_000)
    screenshot(page, "manager-optics-answer-streaming")
    answer = last_answer(page)
    final = finished(answer, timeout=180_000)
    timing = page.evaluate("window.askOptiQ.timings.at(-1)")
    assert timing["sourcesShownBeforeEnd"] and timing["sourcesShown"] < timing["done"]
    assert timing["tokens"] >= 1 and timing["firstToken"] < timing["done"]
    stored = AssistantMessage.objects.get(pk=answer.get_attribute("data-message-id"))
    assert final == stored.content
    if timing["tokens"] >= 2:
        # The model's sentences that passed the grounding gate came one by one, before the quote.
        assert timing["framesWhileStreaming"] >= 1, stored_answer_usage(manager)
    print(
        f"Enter to first token on screen: {timing['firstTokenShown'] - timing['enter']:.0f} ms; "
        f"to the whole answer: {timing['done'] - timing['enter']:.0f} ms; {timing['tokens']} token events"
    )
    cited = answer.locator(".ask-source-article a").first
    assert cited.inner_text() == article.title == "Progressive (varifocal) lenses"
    assert answer.locator(".ask-source-article blockquote").first.inner_text().strip()
    screenshot(page, "manager-optics-answer")
    cited.click()
    page.wait_for_url(f"**/admin/assistant/knowledgedocument/{article.pk}/change/")

    thread = AssistantThread.objects.get(user=manager)
    dark = open_page(manager, dark=True)
    dark.goto(f"{ASK_URL}?thread={thread.pk}")  # a reload shows the thread as stored
    assert finished(last_answer(dark)) == stored.content
    screenshot(dark, "manager-optics-answer-dark")


def test_stop_keeps_what_was_written_and_the_answer_is_stored_as_stopped(
    open_page, practice_data, article, instruct_version, inference_worker, screenshot
):
    inference_worker()
    manager = staff(roles.MANAGER, "manager-x")
    page = open_page(manager)
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.wait_for_function(CITED_WHILE_WRITING, timeout=120_000)  # the model is writing
    page.click("#ask-stop")
    answer = last_answer(page)
    assert answer.get_attribute("data-state") == "stopped"
    assert "Stopped" in answer.locator(".ask-badges").inner_text()
    # What the model had written when Stop was pressed; the page says so when it was nothing.
    written = answer.evaluate(
        "a => a.querySelector('.ask-thinking, .ask-text > .ask-quiet') ? '' : a.querySelector('.ask-text').textContent"
    )
    answer.locator(".ask-feedback .ask-helpful").wait_for(timeout=60_000)  # the stored message was found
    stored = AssistantMessage.objects.get(pk=answer.get_attribute("data-message-id"))
    assert stored.status == "stopped", stored_answer_usage(manager)
    assert stored.content.strip().startswith(written.strip())  # what reached the page, at least
    assert "Sources:" not in stored.content  # stopped before the quote that ends a whole answer
    screenshot(page, "manager-stopped-answer")
    page.reload()
    assert "Stopped" in last_answer(page).locator(".ask-badges").inner_text()


def test_a_question_can_be_asked_in_another_thread_while_an_answer_is_written(
    open_page, practice_data, article, instruct_version, inference_worker
):
    inference_worker()
    page = open_page(staff(roles.MANAGER, "manager-c"))
    page.goto(ASK_URL)
    ask(page, LONG_QUESTION)
    page.wait_for_function(CITED_WHILE_WRITING, timeout=120_000)
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
