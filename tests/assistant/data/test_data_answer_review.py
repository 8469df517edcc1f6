"""Feedback review of data answers: reading a stored `data_query` answer needs the permissions of
its metric (sales reports for revenue, cost prices too for margin and stock value), so an ML admin
reviewing feedback never reads a manager's revenue or margin answer, nor teaches it."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from assistant.models import AssistantFeedback, AssistantMessage
from assistant.threads import answer_hidden_from, answer_permissions_needed
from practice import roles
from tests.practice.factories import user_in_role
from training_jobs.services import training_example_create_from_feedback

REPORTS, COST, PRODUCT = "practice.view_reports", "practice.view_cost_price", "practice.view_product"
# question, its metric, the permissions reading its answer needs
ANSWERS = [
    ("What did we take last month?", "revenue", {REPORTS}),
    ("What margin did we make on frames last month?", "margin", {REPORTS, COST}),
    ("What's our stock worth at cost?", "stock_value", {PRODUCT, COST}),
    ("How many frames do we have in stock?", "stock_on_hand", {PRODUCT}),
]


@pytest.fixture
def answered(demo, bearer_client, monkeypatch):  # type: ignore[no-untyped-def]
    from assistant.chat import service

    monkeypatch.setattr(service.timezone, "localdate", lambda: demo["today"])
    client = bearer_client(demo["manager"])
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    replies = {}
    for question, metric, _ in ANSWERS:
        response = client.post(
            f"/api/v1/assistant/threads/{thread['id']}/messages/", {"content": question}, format="json"
        )
        assert response.status_code == 201, response.content[:300]
        body = response.json()
        assert body["kind"] == "data", (question, body["content"])
        (call,) = body["tool_calls"]
        assert call["name"] == "data_query" and call["arguments"]["metric"] == metric
        replies[question] = AssistantMessage.objects.get(pk=body["id"])
    return replies


def test_a_stored_data_answer_needs_the_permissions_of_its_metric(demo, answered):
    for question, _, needed in ANSWERS:
        assert answer_permissions_needed(answered[question]) == needed, question


def test_an_ml_admin_may_not_read_a_managers_revenue_or_margin_answer_and_reception_only_stock(demo, answered):
    from django.contrib.auth import get_user_model

    mladmin = get_user_model().objects.get(username="mladmin")
    other_manager = user_in_role(roles.MANAGER, username="manager-review")
    for question, _, needed in ANSWERS:
        reply = answered[question]
        assert answer_hidden_from(reply, demo["manager"]) == ""  # the asker
        assert answer_hidden_from(reply, other_manager) == ""
        hidden = answer_hidden_from(reply, mladmin)
        assert hidden.startswith("it used practice data you may not see"), question
        assert all(p in hidden for p in needed if not mladmin.has_perm(p)), (question, hidden)
        for_reception = answer_hidden_from(reply, demo["reception"])
        assert (for_reception == "") == (needed <= {PRODUCT}), (question, for_reception)


def test_feedback_review_hides_a_margin_answer_from_an_ml_admin_and_refuses_to_teach_it(demo, answered):
    from django.contrib.auth import get_user_model

    mladmin = get_user_model().objects.get(username="mladmin")
    margin = answered["What margin did we make on frames last month?"]
    revenue = answered["What did we take last month?"]
    for reply in (margin, revenue):
        AssistantFeedback.objects.create(
            message=reply, user=demo["manager"], rating=-1, corrected_answer="See the till."
        )
    client = Client()
    client.force_login(mladmin)
    listing = client.get("/admin/assistant/assistantfeedback/").content.decode()
    for reply in (margin, revenue):
        figures = re.findall(r"£[\d,]+\.\d{2}", reply.content)
        assert figures and not any(figure in listing for figure in figures), (reply.content, figures)
    assert "What margin did we make" not in listing and "What did we take last month" not in listing
    assert listing.count("hidden: it used practice data you may not see") >= 2  # one a row at least
    with pytest.raises(ValidationError):
        training_example_create_from_feedback(feedback=margin.feedback.get(), user=mladmin)
