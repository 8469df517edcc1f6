"""The admin's threads, messages and feedback: a conversation is its owner's alone (superusers
included); feedback review shows a reviewer only what the reviewer may read."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from assistant.models import AssistantFeedback, AssistantMessage, AssistantThread
from assistant.threads import answer_hidden_from, answer_permissions_needed
from practice import roles
from tests.factories import UserFactory
from tests.practice.factories import user_in_role
from training_jobs.models import TrainingExample
from training_jobs.services import training_example_create_from_feedback


def conversation(user, *, question, answer, kind="knowledge", tool_calls=(), touched_patient_data=False):
    thread = AssistantThread.objects.create(user=user, title=question, touched_patient_data=touched_patient_data)
    AssistantMessage.objects.create(thread=thread, role="user", kind="question", content=question)
    reply = AssistantMessage.objects.create(
        thread=thread,
        role="assistant",
        kind=kind,
        content=answer,
        tool_calls=list(tool_calls),
        touched_patient_data=touched_patient_data,
    )
    return thread, reply


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(db):
    return user_in_role(roles.MANAGER, username="manager-a")


@pytest.fixture
def mladmin(db):
    return user_in_role(roles.ML_ADMIN, username="mladmin-a")


@pytest.fixture
def cost_answer(manager):
    return conversation(
        manager,
        question="What is the cost price of the Ray-Ban Clubmaster?",
        answer="Cost prices for products matching “Ray-Ban Clubmaster”:\n- Ray-Ban Clubmaster (FR-RB-5154): cost £61.20",
        kind="data",
        tool_calls=[{"name": "product_cost", "arguments": {"query": "Ray-Ban Clubmaster"}}],
    )


@pytest.mark.parametrize("who", ["superuser", roles.ML_ADMIN, roles.MANAGER])
def test_the_admin_lists_and_opens_only_ones_own_threads_and_messages(cost_answer, who):
    thread, reply = cost_answer
    viewer = (
        UserFactory(username="root", is_staff=True, is_superuser=True)
        if who == "superuser"
        else user_in_role(who, username=f"{who}-viewer")
    )
    mine, _ = conversation(viewer, question="What are progressive lenses?", answer="Varifocals.")
    client = logged_in(viewer)
    threads = client.get("/admin/assistant/assistantthread/").content.decode()
    assert "What are progressive lenses?" in threads and "cost price" not in threads
    assert client.get(f"/admin/assistant/assistantthread/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/assistant/assistantthread/{thread.pk}/change/").status_code == 302  # "doesn't exist"
    if viewer.has_perm("assistant.view_assistantmessage"):
        messages = client.get("/admin/assistant/assistantmessage/").content.decode()
        assert "What are progressive lenses?" in messages and "cost price" not in messages
        assert client.get(f"/admin/assistant/assistantmessage/{reply.pk}/change/").status_code == 302
    owner = logged_in(thread.user)
    assert "61.20" in owner.get(f"/admin/assistant/assistantthread/{thread.pk}/change/").content.decode()


def test_the_reviewer_needs_the_permissions_of_the_tools_behind_an_answer(cost_answer, manager, mladmin):
    _, reply = cost_answer
    assert answer_permissions_needed(reply) == {"practice.view_product", "practice.view_cost_price"}
    assert answer_hidden_from(reply, manager) == ""  # the asker
    assert "practice.view_cost_price" in answer_hidden_from(reply, mladmin)
    other_manager = user_in_role(roles.MANAGER, username="manager-2")
    assert answer_hidden_from(reply, other_manager) == ""  # a manager may see cost prices
    _, patient_reply = conversation(
        manager, question="Latest prescription for Ann Lee?", answer="R -2.00", touched_patient_data=True
    )
    assert answer_hidden_from(patient_reply, other_manager) == "it touched patient data"
    _, optics = conversation(manager, question="What are progressive lenses?", answer="Varifocals.")
    assert answer_hidden_from(optics, mladmin) == ""


def test_feedback_review_hides_what_the_reviewer_may_not_see_and_refuses_to_teach_it(cost_answer, manager, mladmin):
    _, reply = cost_answer
    cost_feedback = AssistantFeedback.objects.create(
        message=reply, user=manager, rating=-1, corrected_answer="It costs £61.20 from the supplier."
    )
    _, optics = conversation(manager, question="What are progressive lenses?", answer="Varifocals.")
    AssistantFeedback.objects.create(
        message=optics, user=manager, rating=-1, corrected_answer="Lenses whose power changes smoothly."
    )
    client = logged_in(mladmin)
    listing = client.get("/admin/assistant/assistantfeedback/").content.decode()
    assert "What are progressive lenses?" in listing and "Varifocals." in listing
    assert "61.20" not in listing and "cost price of the Ray-Ban" not in listing
    assert "hidden: it used practice data you may not see (practice.view_cost_price, practice.view_product)" in listing
    detail = client.get(f"/admin/assistant/assistantfeedback/{cost_feedback.pk}/change/").content.decode()
    assert "61.20" not in detail and "hidden: it used practice data" in detail

    response = client.post(
        "/admin/assistant/assistantfeedback/",
        {
            "action": "make_training_example",
            "_selected_action": list(AssistantFeedback.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("1 draft training example(s) made" in m for m in shown)
    assert any(f"Feedback {cost_feedback.pk}: You may not read this answer" in m for m in shown)
    assert list(TrainingExample.objects.values_list("prompt", "completion", "status")) == [
        ("What are progressive lenses?", "Lenses whose power changes smoothly.", "draft")
    ]
    with pytest.raises(ValidationError):
        training_example_create_from_feedback(feedback=cost_feedback, user=mladmin)
    # The asker's own manager colleague may read and teach it, once confirming its cost figures may be learnt.
    with pytest.raises(ValidationError, match="uses cost prices"):
        training_example_create_from_feedback(feedback=cost_feedback, user=manager)
    assert (
        training_example_create_from_feedback(feedback=cost_feedback, user=manager, confirm_restricted_figures=True)
        is not None
    )


def test_staff_without_review_rights_see_only_their_own_feedback_and_cannot_make_examples(db, manager):
    reception = user_in_role(roles.RECEPTION, username="reception-a")
    _, optics = conversation(manager, question="What are progressive lenses?", answer="Varifocals.")
    AssistantFeedback.objects.create(message=optics, user=manager, rating=1)
    _, own = conversation(reception, question="How do I clean lenses?", answer="Rinse, then a microfibre cloth.")
    AssistantFeedback.objects.create(message=own, user=reception, rating=1)
    client = logged_in(reception)
    listing = client.get("/admin/assistant/assistantfeedback/")
    page = listing.content.decode()
    assert listing.status_code == 200 and "How do I clean lenses?" in page and "progressive" not in page
    assert "make_training_example" not in page


def test_the_ask_page_is_an_admin_page_linked_first_for_every_staff_role(db):
    for role in roles.ROLE_PERMISSIONS:
        client = logged_in(user_in_role(role, username=f"{role}-ask"))
        index = client.get("/admin/").content.decode()
        assert index.index("Ask OptiQ") < index.index("Assistant") if "Assistant" in index else "Ask OptiQ" in index
        page = client.get("/admin/assistant/assistantthread/ask/")
        assert page.status_code == 200 and 'id="ask-optiq"' in page.content.decode()
        assert client.get("/admin/assistant/assistantthread/add/").url == "/admin/assistant/assistantthread/ask/"
    assert Client().get("/admin/assistant/assistantthread/ask/").status_code == 302  # to the login page


def test_a_source_names_its_document_by_slug_and_the_admin_opens_it(db):
    from assistant.knowledge.services import knowledge_document_ingest

    document = knowledge_document_ingest(
        content="# Anti-reflective coatings\n\nThey cut reflections.", slug="anti-reflective-coatings", embed="none"
    ).document
    client = logged_in(user_in_role(roles.RECEPTION, username="reception-k"))
    response = client.get("/admin/assistant/knowledgedocument/by-slug/anti-reflective-coatings/")
    assert response.url == f"/admin/assistant/knowledgedocument/{document.pk}/change/"
    assert client.get("/admin/assistant/knowledgedocument/by-slug/no-such-article/").status_code == 404
