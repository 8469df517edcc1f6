"""The knowledge base: a document is never written over by someone who may only add documents,
"Embed again" needs the permission to change documents, and a document naming one of the
practice's patients is refused before it is stored (so it can never be embedded or found)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from assistant.knowledge.privacy import patients_in_document
from assistant.knowledge.services import knowledge_document_ingest
from assistant.models import KnowledgeDocument
from practice import roles
from practice.patient_data_scan import PatientIndex, PatientRecord
from tests.factories import UserFactory
from tests.practice.factories import user_in_role

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/assistant/knowledge/documents/"
CORPUS = Path(__file__).resolve().parents[2] / "assistant" / "knowledge_corpus"
ARTICLE = "# Progressive lenses\n\nA progressive lens changes power gradually from distance to near."


def _user_with(*codenames: str, staff: bool = True):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=staff)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="assistant", codename__in=codenames))
    return user


@pytest.fixture
def existing():  # type: ignore[no-untyped-def]
    return knowledge_document_ingest(content=ARTICLE, slug="progressive-lenses", embed="none").document


@pytest.fixture
def patient():  # type: ignore[no-untyped-def]
    from tests.practice.factories import PatientFactory

    return PatientFactory(
        first_name="Imogen", last_name="Fairweather", date_of_birth=datetime.date(1961, 3, 14), phone="07700 900123"
    )


def test_adding_a_document_with_a_taken_slug_without_the_change_permission_is_refused(existing):
    client = Client()
    client.force_login(_user_with("add_knowledgedocument", "view_knowledgedocument"))
    body = {"content": "# Progressive lenses\n\nReplaced text.", "slug": "progressive-lenses"}
    refused = client.post(DOCUMENTS, body, content_type="application/json")
    assert refused.status_code == 400
    assert "replacing it needs the permission to change documents" in " ".join(refused.json()["slug"])
    existing.refresh_from_db()
    assert existing.content == ARTICLE


def test_with_the_change_permission_the_same_request_updates_the_document(existing):
    client = Client()
    client.force_login(_user_with("add_knowledgedocument", "change_knowledgedocument", "view_knowledgedocument"))
    body = {"content": "# Progressive lenses\n\nReplaced text.", "slug": "progressive-lenses"}
    assert client.post(DOCUMENTS, body, content_type="application/json").status_code == 201  # written anew
    existing.refresh_from_db()
    assert "Replaced text." in existing.content


def test_the_admin_add_page_refuses_a_taken_slug_without_the_change_permission(existing):
    client = Client()
    client.force_login(_user_with("add_knowledgedocument", "view_knowledgedocument"))
    page = client.post(
        "/admin/assistant/knowledgedocument/add/",
        {
            "title": "Progressive lenses",
            "slug": "progressive-lenses",
            "content": "Replaced.",
            "source_type": "markdown",
        },
    )
    assert page.status_code == 200
    assert "replacing it needs the permission to change documents" in page.content.decode()
    existing.refresh_from_db()
    assert existing.content == ARTICLE


def test_embed_again_is_offered_only_with_the_change_permission(existing):
    viewer = Client()
    viewer.force_login(_user_with("view_knowledgedocument", "add_knowledgedocument"))
    changelist = "/admin/assistant/knowledgedocument/"
    assert "re_embed" not in viewer.get(changelist).content.decode()
    editor = Client()
    editor.force_login(_user_with("view_knowledgedocument", "change_knowledgedocument"))
    assert "re_embed" in editor.get(changelist).content.decode()


def test_embed_again_by_a_viewer_queues_nothing(existing):
    KnowledgeDocument.objects.filter(pk=existing.pk).update(status=KnowledgeDocument.Status.READY, chunks_done=1)
    viewer = Client()
    viewer.force_login(_user_with("view_knowledgedocument"))
    viewer.post("/admin/assistant/knowledgedocument/", {"action": "re_embed", "_selected_action": [existing.pk]})
    existing.refresh_from_db()
    assert existing.status == KnowledgeDocument.Status.READY and existing.chunks_done == 1


@pytest.mark.parametrize(
    "text",
    [
        "Case note: Imogen Fairweather asked about varifocals.",
        "Mrs Fairweather (born 14/03/1961) prefers contact lenses.",
        "Call 07700 900123 when the glasses are ready.",
        "Fairweather, I.: R -2.25 / -0.50 x 180",
    ],
)
def test_a_document_naming_a_patient_is_refused_before_it_is_stored(patient, text):
    client = Client()
    client.force_login(user_in_role(roles.MANAGER))
    refused = client.post(
        DOCUMENTS, {"content": f"# Notes\n\n{text}", "slug": "notes"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert "holds patient data" in " ".join(refused.json()["content"])
    assert not KnowledgeDocument.objects.filter(slug="notes").exists()


def test_the_refusal_shows_the_patient_only_to_those_who_may_see_patients(patient):
    body = {"content": "# Notes\n\nImogen Fairweather asked about varifocals.", "slug": "notes"}
    reader = Client()
    reader.force_login(_user_with("add_knowledgedocument", "view_knowledgedocument"))
    hidden = json.dumps(reader.post(DOCUMENTS, body, content_type="application/json").json())
    assert "a patient's name" in hidden and "Fairweather" not in hidden
    manager = Client()
    manager.force_login(user_in_role(roles.MANAGER))
    assert "Fairweather" in json.dumps(manager.post(DOCUMENTS, body, content_type="application/json").json())


def test_the_admin_refuses_an_upload_naming_a_patient_on_the_form(patient):
    client = Client()
    client.force_login(user_in_role(roles.ML_ADMIN))
    page = client.post(
        "/admin/assistant/knowledgedocument/add/",
        {"title": "Notes", "content": "Imogen Fairweather asked about varifocals.", "source_type": "text"},
    )
    assert page.status_code == 200 and "holds patient data" in page.content.decode()
    assert not KnowledgeDocument.objects.exists()


def test_the_shipped_articles_pass_the_check_against_a_practice_with_common_surnames():
    # Surnames that are also optics words or names of physicists: articles mention them freely.
    records = [
        PatientRecord(i, first, last, datetime.date(1950 + i, 1 + i % 12, 1 + i % 28), "", "", "")
        for i, (first, last) in enumerate(
            [
                ("Thomas", "Young"),
                ("Ernst", "Abbe"),
                ("Willebrord", "Snell"),
                ("Mary", "Brown"),
                ("John", "Smith"),
                ("Ann", "Green"),
                ("Ruth", "White"),
                ("Peter", "Gray"),
                ("Sarah", "Field"),
                ("David", "Power"),
            ]
        )
    ]
    index = PatientIndex.from_records(records)
    flagged = {path.name: patients_in_document(path.read_text(), index=index) for path in sorted(CORPUS.glob("*.md"))}
    assert len(flagged) > 20
    assert {name: found for name, found in flagged.items() if found} == {}
