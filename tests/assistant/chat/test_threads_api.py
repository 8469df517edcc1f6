import json
from decimal import Decimal

import httpx
import pytest
from django.contrib.auth.models import Group

from assistant.knowledge.services import knowledge_document_ingest
from assistant.models import AssistantFeedback, AssistantMessage
from tests.factories import UserFactory

ARTICLE = (
    "---\ntitle: Comparing 1.67 and 1.74 index lenses\ncategory: lens-materials\n---\n"
    "# Comparing 1.67 and 1.74 index lenses\n\n## Thickness\n\n"
    "A 1.74 lens needs about 9-10% less curvature than a 1.67 lens of the same power, so it is a little thinner.\n\n"
    "## Weight\n\n1.74 material is denser, so 1.74 lenses weigh about the same as 1.67 lenses."
)


def staff(role):
    user = UserFactory()
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def frames(db):
    from practice.models import Product

    low = Product.objects.create(
        category="frame",
        sku="FR-RB-5154",
        brand="Ray-Ban",
        model="Clubmaster",
        price=Decimal("145.00"),
        cost_price=Decimal("61.20"),
        reorder_level=3,
    )
    Product.objects.create(
        category="accessory",
        sku="AC-CLOTH-1",
        brand="OptiQ",
        model="Microfibre cloth",
        price=Decimal("4.00"),
        cost_price=Decimal("0.40"),
        reorder_level=0,
    )
    return low


def ask(client, thread_id, content, **extra):
    return client.post(f"/api/v1/assistant/threads/{thread_id}/messages/", {"content": content, **extra}, format="json")


def test_a_manager_gets_low_stock_frames_with_the_tool_result_as_source(bearer_client, frames):
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    answer = ask(client, thread["id"], "Which frames are low on stock?")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["kind"] == "data"
    assert "1 frames are at or below their reorder level" in body["content"]
    assert "Ray-Ban Clubmaster (FR-RB-5154): 0 in stock, reorder level 3, suggested order 6" in body["content"]
    assert body["tool_calls"] == [{"name": "low_stock", "arguments": {"category": "frame"}}]
    tool_source = body["sources"][0]
    assert tool_source["kind"] == "tool_result" and tool_source["snippet"] == body["content"]
    assert {"kind": "product", "id": frames.pk}.items() <= body["sources"][1].items()


def test_reception_asking_for_cost_prices_gets_a_plain_refusal(bearer_client, frames):
    client = bearer_client(staff("reception"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    body = ask(client, thread["id"], "What is the cost price of the Ray-Ban frames?").json()
    assert body["kind"] == "refusal"
    assert body["content"] == "Sorry, you don't have permission to see cost prices."
    assert body["sources"] == [] and body["tool_calls"] == []
    assert "61.20" not in json.dumps(body)


def test_reception_sees_low_stock_without_cost_prices(bearer_client, frames):
    client = bearer_client(staff("reception"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    body = ask(client, thread["id"], "Which frames are low on stock?").json()
    assert body["kind"] == "data"
    assert "61.20" not in json.dumps(body) and "cost_price" not in json.dumps(body)


def test_a_knowledge_question_cites_the_article(bearer_client, db):
    knowledge_document_ingest(content=ARTICLE, slug="1-67-vs-1-74-index-lenses", embed="now")
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    body = ask(client, thread["id"], "What is the difference between 1.67 and 1.74 index lenses?").json()
    assert body["kind"] == "knowledge"
    assert "Sources: [1] Comparing 1.67 and 1.74 index lenses" in body["content"]
    assert body["sources"][0]["kind"] == "knowledge_chunk"
    assert body["sources"][0]["title"] == "Comparing 1.67 and 1.74 index lenses"
    assert 0 < body["sources"][0]["score"] <= 1


def test_a_base_model_is_quoted_not_paraphrased(bearer_client, db):
    from assistant.registry.services import default_model_register

    default_model_register()  # the 270M base model, active; no inference worker is needed to quote
    knowledge_document_ingest(content=ARTICLE, slug="1-67-vs-1-74-index-lenses", embed="now")
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    body = ask(client, thread["id"], "Is a 1.74 lens thinner than a 1.67 lens?").json()
    assert body["content"].startswith("From “Comparing 1.67 and 1.74 index lenses”: ")
    assert "so it is a little thinner." in body["content"]
    message = AssistantMessage.objects.get(pk=body["id"])
    assert message.model_name == "" and "generation_error" not in message.usage


def test_instruction_following_models_answer_in_their_own_words():
    from assistant.chat.knowledge_answers import answers_in_own_words
    from assistant.models import ModelVersion

    base = ModelVersion(pk=1, name="base", chat_format="gemma", has_chat_template=False)
    assert not answers_in_own_words(base) and not answers_in_own_words(None)
    assert answers_in_own_words(ModelVersion(name="tuned", chat_format="gemma", lora_path="/m/adapter.gguf"))
    assert answers_in_own_words(ModelVersion(name="merged", chat_format="gemma", base=base))
    assert answers_in_own_words(ModelVersion(name="llama", has_chat_template=True))
    assert answers_in_own_words(ModelVersion(name="server", backend="external", base_url="http://gpu:8080/v1"))


def test_the_answer_streams_as_server_sent_events_under_the_real_server(live_api, frames):
    from accounts.services import api_key_create
    from tests.assistant.inference.server_sent_events import read_events

    base = live_api()
    _, key = api_key_create(user=staff("manager"))
    headers = {"Authorization": f"Bearer {key}"}
    thread = httpx.post(f"{base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30).json()
    url = f"{base}/api/v1/assistant/threads/{thread['id']}/messages/"
    body = {"content": "Which frames are low on stock?", "stream": True}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_events(response))
    assert [e.name for e in events] == ["sources", "token", "done"]
    assert events[0].data[0]["kind"] == "tool_result"
    assert events[2].data["status"] == "complete" and events[2].data["content"] == events[1].data["text"]
    assert AssistantMessage.objects.filter(thread_id=thread["id"], role="assistant").count() == 1


def _failing_planner(*args, **kwargs):
    raise RuntimeError("the planner broke")


def test_an_unexpected_error_in_a_route_is_stored_incomplete_and_answered_without_a_500(
    bearer_client, frames, monkeypatch, caplog
):
    monkeypatch.setattr("assistant.chat.service.plan_question", _failing_planner)
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    response = ask(client, thread["id"], "Which frames are low on stock?")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "incomplete" and body["kind"] == "error"
    assert "went wrong" in body["content"] and "the planner broke" not in body["content"]
    assert AssistantMessage.objects.get(pk=body["id"]).status == AssistantMessage.Status.INCOMPLETE
    assert f"message {body['id']} cut short by RuntimeError" in caplog.text


def test_a_failing_route_streams_an_error_event_then_the_stored_message(db, frames, monkeypatch):
    from asgiref.sync import async_to_sync

    from assistant.chat.service import answer_events
    from assistant.models import AssistantThread

    monkeypatch.setattr("assistant.chat.service.plan_question", _failing_planner)
    user = staff("manager")
    thread = AssistantThread.objects.create(user=user)

    async def collect() -> list:
        return [e async for e in answer_events(thread=thread, user=user, question="Which frames are low on stock?")]

    events = async_to_sync(collect)()
    assert [e.kind for e in events] == ["error", "done"]
    assert events[0].data == {"message": events[1].data.content, "code": "answer_failed"}
    assert events[1].data.status == AssistantMessage.Status.INCOMPLETE


def test_a_model_answer_without_any_inference_worker_is_a_503_and_stores_nothing(bearer_client, default_gguf, db):
    from assistant.llm import streams
    from assistant.registry.services import default_model_register, model_version_register

    streams.connection().delete(streams.WORKERS_KEY)  # no heartbeat left by an earlier test's worker
    base, _ = default_model_register()
    model_version_register(name="gemma-derived", path=default_gguf, chat_format="gemma", base=base, activate=True)
    knowledge_document_ingest(content=ARTICLE, slug="1-67-vs-1-74-index-lenses", embed="now")
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    for stream in (False, True):
        response = ask(client, thread["id"], "Is a 1.74 lens thinner than a 1.67 lens?", stream=stream)
        assert response.status_code == 503, response.content
        assert int(response["Retry-After"]) >= 1 and response.json()["code"] == "no_worker_available"
    assert not AssistantMessage.objects.filter(thread_id=thread["id"]).exists()


def test_threads_are_private_renamable_and_deletable(bearer_client, db):
    owner = bearer_client(staff("manager"))
    other = bearer_client(staff("manager"))
    thread = owner.post("/api/v1/assistant/threads/", {"title": "Stock"}, format="json").json()
    assert other.get(f"/api/v1/assistant/threads/{thread['id']}/").status_code == 404
    assert ask(other, thread["id"], "hello").status_code == 404
    assert other.get("/api/v1/assistant/threads/").json()["count"] == 0
    renamed = owner.patch(f"/api/v1/assistant/threads/{thread['id']}/", {"title": "Frames"}, format="json")
    assert renamed.json()["title"] == "Frames"
    assert owner.delete(f"/api/v1/assistant/threads/{thread['id']}/").status_code == 204


def test_an_empty_question_is_refused_by_field(bearer_client, db):
    client = bearer_client(staff("manager"))
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    response = ask(client, thread["id"], "")
    assert response.status_code == 400 and "content" in response.json()


def test_feedback_becomes_a_draft_training_example(bearer_client, frames):
    from training_jobs.services import training_example_create_from_feedback

    user = staff("manager")
    client = bearer_client(user)
    thread = client.post("/api/v1/assistant/threads/", {}, format="json").json()
    answer = ask(client, thread["id"], "Which frames are low on stock?").json()
    url = f"/api/v1/assistant/threads/{thread['id']}/messages/{answer['id']}/feedback/"
    assert client.post(url, {"rating": 5}, format="json").status_code == 400
    response = client.post(
        url, {"rating": -1, "corrected_answer": "Only the Ray-Ban Clubmaster is low."}, format="json"
    )
    assert response.status_code == 201
    feedback = AssistantFeedback.objects.get(pk=response.json()["id"])
    example = training_example_create_from_feedback(feedback=feedback, user=user)
    assert example.status == "draft" and example.completion == "Only the Ray-Ban Clubmaster is low."
    assert example.prompt == "Which frames are low on stock?"
