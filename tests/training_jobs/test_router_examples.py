"""Feedback on a data answer becomes a draft router example: the question, and the structured
query the answer ran as the router writes it, for the reviewer to correct and approve; approved,
it is trained on before any generated example."""

from __future__ import annotations

from assistant.models import AssistantFeedback
from assistant.router import ROUTER_CATEGORY
from assistant.router.outputs import read_output
from assistant.router.prompt import ROUTER_INSTRUCTION
from tests.assistant.chat.test_threads_api import ask, frames, staff  # noqa: F401
from training_jobs.services import training_examples_review
from training_jobs.services.router_examples import router_example_from_feedback, router_examples


def test_feedback_on_a_data_answer_becomes_a_draft_router_example(bearer_client, frames):  # noqa: F811
    user = staff("manager")
    client = bearer_client(user)
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    answer = ask(client, thread["id"], "Which frames are low on stock?").json()
    url = f"/api/v1/assistant/threads/{thread['id']}/messages/{answer['id']}/feedback/"
    response = client.post(url, {"rating": -1, "corrected_answer": "Only the Clubmaster is low."}, format="json")
    feedback = AssistantFeedback.objects.get(pk=response.json()["id"])

    example = router_example_from_feedback(feedback=feedback, user=user)
    assert (example.category, example.status, example.source) == (ROUTER_CATEGORY, "draft", "assistant_feedback")
    assert example.prompt == "Which frames are low on stock?" and example.system_prompt == ROUTER_INSTRUCTION
    reading = read_output(example.completion)
    assert (reading.route, reading.tool, reading.arguments) == ("listing", "low_stock", {"category": "frame"})
    assert router_example_from_feedback(feedback=feedback, user=user) is None  # one per question
    assert router_examples() == []  # a draft is not trained on
    training_examples_review(examples=[example], status="approved", reviewer=user)
    assert [e.pk for e in router_examples(count=1)] == [example.pk]
