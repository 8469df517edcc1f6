"""Conversations are private: in the admin and in the API a user sees only their own threads and
messages (an ML admin never a manager's answer with cost prices); feedback review shows a
reviewer only the answers they may read."""

from __future__ import annotations

import pytest

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread
from practice import roles
from tests.practice.factories import user_in_role

pytestmark = pytest.mark.django_db

COST_ANSWER = "Ray-Ban Clubmaster (FR-RB-5154): cost £61.20"


def _conversation(user, question: str, answer: str, **reply):  # type: ignore[no-untyped-def]
    thread = AssistantThread.objects.create(user=user, title=question)
    AssistantMessage.objects.create(thread=thread, role="user", kind="question", content=question)
    return thread, AssistantMessage.objects.create(thread=thread, role="assistant", content=answer, **reply)


@pytest.fixture
def managers_cost_answer(manager):  # type: ignore[no-untyped-def]
    return _conversation(
        manager,
        "What is the cost price of the Ray-Ban Clubmaster?",
        COST_ANSWER,
        kind="data",
        tool_calls=[{"name": "product_cost", "arguments": {"query": "Ray-Ban Clubmaster"}}],
    )


@pytest.fixture
def ml_admin():  # type: ignore[no-untyped-def]
    return user_in_role(roles.ML_ADMIN, username="ml-admin-c")


def test_an_ml_admin_sees_only_their_own_conversations_in_the_admin(managers_cost_answer, ml_admin, admin_as):
    thread, reply = managers_cost_answer
    own, _ = _conversation(ml_admin, "What are progressive lenses?", "Varifocals.")
    client = admin_as(ml_admin)
    for listing in ("/admin/assistant/assistantthread/", "/admin/assistant/assistantmessage/"):
        page = client.get(listing).content.decode()
        assert "What are progressive lenses?" in page
        assert "61.20" not in page and "cost price of the Ray-Ban" not in page
    assert client.get(f"/admin/assistant/assistantthread/{own.pk}/change/").status_code == 200
    assert client.get(f"/admin/assistant/assistantthread/{thread.pk}/change/").status_code == 302
    assert client.get(f"/admin/assistant/assistantmessage/{reply.pk}/change/").status_code == 302


def test_an_ml_admin_cannot_read_anothers_thread_in_the_api(managers_cost_answer, ml_admin, api_as):
    thread, _ = managers_cost_answer
    client = api_as(ml_admin)
    listed = client.get("/api/v1/assistant/threads/").json()
    assert thread.pk not in [t["id"] for t in listed["results"]]
    assert client.get(f"/api/v1/assistant/threads/{thread.pk}/").status_code == 404
    assert "61.20" not in client.get(f"/api/v1/assistant/threads/{thread.pk}/messages/").content.decode()


def test_feedback_review_hides_an_answer_the_reviewer_may_not_see(managers_cost_answer, manager, ml_admin, admin_as):
    _, reply = managers_cost_answer
    feedback = AssistantFeedback.objects.create(message=reply, user=manager, rating=-1, corrected_answer="£61.20")
    client = admin_as(ml_admin)
    listing = client.get("/admin/assistant/assistantfeedback/").content.decode()
    assert "61.20" not in listing and "hidden: it used practice data you may not see" in listing
    detail = client.get(f"/admin/assistant/assistantfeedback/{feedback.pk}/change/").content.decode()
    assert "61.20" not in detail


def test_staff_without_review_rights_see_only_their_own_feedback(managers_cost_answer, manager, reception, admin_as):
    _, reply = managers_cost_answer
    AssistantFeedback.objects.create(message=reply, user=manager, rating=1)
    _, own = _conversation(reception, "How do I clean lenses?", "Rinse, then a microfibre cloth.")
    AssistantFeedback.objects.create(message=own, user=reception, rating=1)
    page = admin_as(reception).get("/admin/assistant/assistantfeedback/").content.decode()
    assert "How do I clean lenses?" in page and "Ray-Ban" not in page
