"""A manager's twenty data questions through the API, in their own phrasing (periods, brands,
averages, best month, comparisons): each answer is the right figure with its period and filters
stated, or a question back; none is a wrong figure and none is a 500. Truths are SQL written here.
Also: a question back is stored as such and can be answered; the structured query is kept as
the answer's source; reception is refused cost figures; prescriptions are audited."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection

from assistant.eval.data import VIEWS, _judge
from assistant.models import AssistantMessage
from practice.models import AuditEvent, Patient

L = "FROM eval_lines WHERE"
MANAGER_QUESTIONS = [
    (
        "What did we take in total last month?",
        "figure",
        "revenue",
        f"SELECT SUM(revenue) {L} day BETWEEN '2026-10-01' AND '2026-10-31'",
        {},
    ),
    (
        "Average sale value for the past 30 days?",
        "figure",
        "average_sale_value",
        f"SELECT ROUND(SUM(revenue)/COUNT(DISTINCT sale_id),2) {L} day BETWEEN '2026-10-20' AND '2026-11-18'",
        {},
    ),
    (
        "Which month this year had the best takings?",
        "top",
        "revenue",
        f"SELECT to_char(day,'YYYY-MM'), SUM(revenue) {L} day BETWEEN '2026-01-01' AND '2026-11-18' GROUP BY 1 ORDER BY 2 DESC",
        {"group": "month"},
    ),
    (
        "How many Oakley frames did we sell in Q3?",
        "figure",
        "units",
        f"SELECT SUM(units) {L} brand='Oakley' AND category='frame' AND day BETWEEN '2026-07-01' AND '2026-09-30'",
        {},
    ),
    (
        "How do this month's takings compare with the same month last year?",
        "figure",
        "revenue",
        f"SELECT SUM(revenue) {L} day BETWEEN '2026-11-01' AND '2026-11-18'",
        {"compare_sql": f"SELECT COALESCE(SUM(revenue),0) {L} day BETWEEN '2025-11-01' AND '2025-11-18'"},
    ),
    (
        "How many Ray-Ban frames have we sold year to date?",
        "figure",
        "units",
        f"SELECT SUM(units) {L} brand='Ray-Ban' AND category='frame' AND day BETWEEN '2026-01-01' AND '2026-11-18'",
        {},
    ),
    (
        "What's the average number of items per sale this year?",
        "figure",
        "average_units_per_sale",
        f"SELECT ROUND(SUM(units)::numeric/COUNT(DISTINCT sale_id),2) {L} day BETWEEN '2026-01-01' AND '2026-11-18'",
        {},
    ),
    (
        "Top 3 frame brands by units in the last 6 months",
        "top",
        "units",
        f"SELECT brand, SUM(units) {L} category='frame' AND day BETWEEN '2026-05-19' AND '2026-11-18' GROUP BY 1 ORDER BY 2 DESC",
        {"group": "brand", "n": 3},
    ),
    (
        "How much did we make on Zeiss lenses last quarter?",
        "figure",
        "revenue",
        f"SELECT SUM(revenue) {L} brand='Zeiss' AND category='spectacle_lens' AND day BETWEEN '2026-07-01' AND '2026-09-30'",
        {},
    ),
    (
        "How many progressive lenses did we sell in October compared with the month before?",
        "figure",
        "units",
        f"SELECT SUM(units) {L} lens_type='progressive' AND day BETWEEN '2026-10-01' AND '2026-10-31'",
        {"compare_sql": f"SELECT SUM(units) {L} lens_type='progressive' AND day BETWEEN '2026-09-01' AND '2026-09-30'"},
    ),
    (
        "What was our quietest week last month?",
        "bottom",
        "sales",
        f"SELECT to_char(date_trunc('week', day),'YYYY-MM-DD'), COUNT(DISTINCT sale_id) {L} day BETWEEN '2026-10-01' AND '2026-10-31' GROUP BY 1 ORDER BY 2",
        {"group": "week"},
    ),
    (
        "Revenue from contact lenses since the start of the financial year?",
        "figure",
        "revenue",
        f"SELECT SUM(revenue) {L} category='contact_lens' AND day BETWEEN '2026-04-06' AND '2026-11-18'",
        {},
    ),
    (
        "Best selling lens type this financial year?",
        "top",
        "units",
        f"SELECT lens_type, SUM(units) {L} lens_type <> '' AND day BETWEEN '2026-04-06' AND '2026-11-18' GROUP BY 1 ORDER BY 2 DESC",
        {"group": "lens_type"},
    ),
    (
        "How many lenses with anti-reflective coating did we sell in September?",
        "figure",
        "units",
        f"SELECT SUM(units) {L} 'anti_reflective' = ANY(coatings) AND day BETWEEN '2026-09-01' AND '2026-09-30'",
        {},
    ),
    (
        "How much stock do we hold at cost?",
        "figure",
        "stock_value",
        "SELECT SUM(quantity_on_hand*cost_price) FROM practice_product",
        {},
    ),
    (
        "What was our margin on frames in Q2?",
        "figure",
        "margin",
        f"SELECT ROUND(SUM(revenue*100/(100+tax_rate)) - SUM(units*cost_price),2) {L} category='frame' AND day BETWEEN '2026-04-01' AND '2026-06-30'",
        {},
    ),
    (
        "How many patients did we see in September?",
        "figure",
        "patients_seen",
        "SELECT COUNT(DISTINCT patient_id) FROM eval_seen WHERE day BETWEEN '2026-09-01' AND '2026-09-30'",
        {},
    ),
    (
        "Which supplier brought in the most revenue last month?",
        "top",
        "revenue",
        f"SELECT supplier, SUM(revenue) {L} day BETWEEN '2026-10-01' AND '2026-10-31' GROUP BY 1 ORDER BY 2 DESC",
        {"group": "supplier"},
    ),
    (
        "What were sales like over Easter?",
        "figure",
        "revenue",
        f"SELECT SUM(revenue) {L} day BETWEEN '2026-04-03' AND '2026-04-06'",
        {},
    ),
    ("How many frames did we sell on 30 February?", "clarify", "", "", {}),
]


@pytest.fixture
def ask(demo, bearer_client, monkeypatch):  # type: ignore[no-untyped-def]
    from assistant.chat import service

    # The demo practice is at its fixed day; the API answers as of that day.
    monkeypatch.setattr(service.timezone, "localdate", lambda: demo["today"])

    def make(user):  # type: ignore[no-untyped-def]
        client = bearer_client(user)
        thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()

        def question(content: str):  # type: ignore[no-untyped-def]
            response = client.post(
                f"/api/v1/assistant/threads/{thread['id']}/messages/", {"content": content}, format="json"
            )
            assert response.status_code == 201, (content, response.status_code, response.content[:300])
            return response.json()

        return question

    return make


def test_a_manager_gets_the_right_figure_with_its_scope_or_a_question_back(demo, ask):
    question = ask(demo["manager"])
    with connection.cursor() as cursor:
        for view in VIEWS:
            cursor.execute(view)
        results = []
        for text, expect, metric, sql, extra in MANAGER_QUESTIONS:
            body = question(text)
            draft = SimpleNamespace(kind=body["kind"], text=body["content"], sources=body["sources"])
            item = {"question": text, "expect": expect, "metric": metric, "sql": sql, **extra}
            results.append((text, *_judge(item, draft, cursor), body["content"][:200]))
    wrong = [r for r in results if r[1] == "wrong"]
    assert not wrong, wrong
    assert [r for r in results if r[1] != "exact"] == [], "every question answered exactly or asked back as expected"


def test_a_question_back_is_stored_as_one_and_a_reply_answers_the_question(demo, ask):
    question = ask(demo["manager"])
    back = question("How many frames did we sell?")
    assert back["kind"] == "clarification" and back["content"].startswith("For which period?")
    assert AssistantMessage.objects.get(pk=back["id"]).kind == AssistantMessage.Kind.CLARIFICATION
    answer = question("last month")
    assert answer["kind"] == "data"
    assert answer["content"].startswith("Last month (1–31 October 2026), frames, completed sales:")
    suggestion = question("How many frames did we sell on 31 February?")
    assert "Did you mean 1–28 February 2026?" in suggestion["content"]
    yes = question("yes")
    assert yes["kind"] == "data" and yes["content"].startswith("1–28 February 2026, frames")


def test_a_whole_new_question_after_a_question_back_is_read_on_its_own(demo, ask):
    question = ask(demo["manager"])
    back = question("How many frames did we sell?")
    assert back["kind"] == "clarification"
    # An optics question of its own, not the period asked for.
    answer = question("How long is a glasses prescription valid for in the UK?")
    assert answer["kind"] != "clarification" and "frames" not in answer["content"].lower()
    # An optics question whose words name a lens category and a time of year is not a data question.
    answer = question("Why don't my photochromic lenses go as dark on hot summer days?")
    assert answer["kind"] != "clarification"
    # Typed as a sentence, without a question mark, it is still a question of its own.
    back = question("How many frames did we sell?")
    assert back["kind"] == "clarification"
    answer = question("my new glasses have a bubble distortion at the edges, is the prescription wrong")
    assert answer["kind"] == "knowledge" and "frames" not in answer["content"].lower()[:80]


def test_the_structured_query_is_kept_as_the_answers_source(demo, ask):
    body = ask(demo["manager"])("How many progressive lenses did we sell last month?")
    assert body["planner"] == "parser"
    (call,) = body["tool_calls"]
    assert call["name"] == "data_query"
    assert call["arguments"] == {
        "metric": "units",
        "period": "last month",
        "start": "2026-10-01",
        "end": "2026-10-31",
        "lens_type": "progressive",
    }
    source = body["sources"][0]
    assert source["kind"] == "tool_result" and source["planner"] == "parser"
    assert source["arguments"] == call["arguments"]
    assert source["data"]["scope"] == "Last month (1–31 October 2026), progressive lenses, completed sales"


def test_grouped_figures_come_as_rows_with_a_time_key_for_charts(demo, ask):
    body = ask(demo["manager"])("Revenue by month for the last 3 full months")
    rows = body["sources"][0]["data"]["rows"]
    assert [row["month"] for row in rows] == ["2026-08", "2026-09", "2026-10"]
    assert all({"label", "value", "units", "revenue", "sales"} <= set(row) for row in rows)


def test_reception_is_refused_cost_figures_and_reports_but_sees_stock(demo, ask):
    question = ask(demo["reception"])
    for text in ("What margin did we make on frames this year?", "How much is our stock worth at cost?"):
        body = question(text)
        assert body["kind"] == "refusal", text
        assert body["content"] == "Sorry, you don't have permission to see cost prices and margins."
        assert body["sources"] == [] and body["tool_calls"] == []
    assert (
        question("What were our takings last week?")["content"]
        == "Sorry, you don't have permission to see sales reports."
    )
    stock = question("How many frames do we have in stock?")
    assert stock["kind"] == "data" and "cost" not in str(stock["sources"])


def test_a_prescription_is_shown_only_with_the_permission_and_is_audited(demo, ask):
    from practice import roles
    from tests.practice.factories import user_in_role

    patient = Patient.objects.filter(spectacle_prescriptions__isnull=False).order_by("id").first()
    name = f"{patient.first_name} {patient.last_name}"
    before = AuditEvent.objects.filter(patient=patient, action="assistant_lookup").count()
    shown = ask(demo["optometrist"])(f"What is {name}'s latest prescription?")
    assert shown["kind"] == "data"
    assert "Latest prescription for" in shown["content"] or "patients match" in shown["content"]
    assert AuditEvent.objects.filter(patient=patient, action="assistant_lookup").count() > before
    refused = ask(user_in_role(roles.ML_ADMIN, username="mladmin-rx"))(f"What is {name}'s latest prescription?")
    assert (
        refused["kind"] == "refusal" and refused["content"] == "Sorry, you don't have permission to see prescriptions."
    )
