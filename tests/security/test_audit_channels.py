"""Every read of a patient's record is audited, on every channel of the admin and the API: a
record read names its patient, and a list, search, autocomplete or export names the patients it
showed, so that "who looked at patient X" finds them all."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone
from django.utils.html import escape

from practice import selectors, services
from practice.models import AUDIT_PATIENT_IDS_PER_EVENT, AuditEvent, LabJob, LabJobStatus, Patient
from tests.factories import UserFactory
from tests.practice.factories import (
    ContactLensPrescriptionFactory,
    PatientFactory,
    RecallFactory,
    SaleFactory,
    SpectaclePrescriptionFactory,
    stocked_product,
)

pytestmark = pytest.mark.django_db


def events_showing(patient: Patient, *, actor: Any, via: str, **detail: Any) -> list[AuditEvent]:
    """The audit events by ``actor`` through ``via`` that name ``patient`` (as the record's
    patient or among those a list showed), read straight from the table."""
    events = AuditEvent.objects.filter(actor=actor, detail__via=via)
    for key, value in detail.items():
        events = events.filter(**{f"detail__{key}": value})
    return [event for event in events if event.patient_id == patient.pk or patient.pk in event.patient_ids]


def assert_audited(patient: Patient, *, actor: Any, via: str, action: str | None = None, **detail: Any) -> AuditEvent:
    found = [e for e in events_showing(patient, actor=actor, via=via, **detail) if action in (None, e.action)]
    trail = list(AuditEvent.objects.values("actor_username", "action", "patient_id", "patient_ids", "detail"))
    assert found, f"no {action or 'audit'} event by {actor} via {via} {detail} names patient {patient.pk}: {trail}"
    event = found[0]
    assert event.actor_username == actor.username
    return event


def autocomplete(client: Any, *, field: str, term: str = "", model: str = "sale") -> list[dict[str, str]]:
    response = client.get(
        "/admin/autocomplete/", {"app_label": "practice", "model_name": model, "field_name": field, "term": term}
    )
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)["results"]


def ready_lab_job() -> LabJob:
    rx = SpectaclePrescriptionFactory()
    staff = UserFactory()
    sale = services.sale_create(
        staff=staff,
        patient=rx.patient,
        lines=[{"product": stocked_product(1)}, {"product": stocked_product(1, progressive_lens=True)}],
    )
    services.sale_complete(sale=sale, user=staff)
    job = LabJob.objects.get(sale=sale)
    for _ in range(2):
        job = services.lab_job_advance(job=job)
    assert job.status == LabJobStatus.READY
    return job


# --- the admin's autocomplete -----------------------------------------------------------------


def test_an_empty_autocomplete_term_lists_patients_and_the_list_is_audited(reception, admin_as) -> None:
    patients = PatientFactory.create_batch(3)
    results = autocomplete(admin_as(reception), field="patient")
    assert {r["id"] for r in results} == {str(p.pk) for p in patients}
    assert str(patients[0]) in {r["text"] for r in results}  # "Name (date of birth)"
    for patient in patients:
        event = assert_audited(patient, actor=reception, via="admin", action="list", page="autocomplete")
        assert event.detail["field"] == "practice.sale.patient"


def test_a_phone_number_in_the_autocomplete_is_a_reverse_lookup_and_is_audited(reception, admin_as) -> None:
    patient = PatientFactory(phone="07700 900123")
    PatientFactory(phone="01632 960001")
    results = autocomplete(admin_as(reception), field="patient", term="07700900123")
    assert [r["id"] for r in results] == [str(patient.pk)]
    event = assert_audited(patient, actor=reception, via="admin", action="search", page="autocomplete")
    assert event.detail["query"] == "07700900123" and event.patient_ids == [patient.pk]


def test_the_sale_prescription_autocomplete_shows_full_prescriptions_and_is_audited(reception, admin_as) -> None:
    rx = SpectaclePrescriptionFactory()
    results = autocomplete(admin_as(reception), field="prescription")
    assert rx.render() in results[0]["text"]
    event = assert_audited(rx.patient, actor=reception, via="admin", action="list", page="autocomplete")
    assert event.detail["field"] == "practice.sale.prescription"


# --- changelists ------------------------------------------------------------------------------


def test_the_patient_list_without_a_search_is_audited(reception, admin_as) -> None:
    patient = PatientFactory()
    page = admin_as(reception).get("/admin/practice/patient/")
    assert page.status_code == 200 and escape(patient.last_name).encode() in page.content
    assert_audited(patient, actor=reception, via="admin", action="list", page="changelist")


def test_paging_show_all_and_filters_of_the_patient_list_are_audited(reception, admin_as) -> None:
    PatientFactory.create_batch(100)
    consenting = PatientFactory(consent_marketing=True)
    ordered = list(Patient.objects.order_by("last_name", "first_name", "id"))
    client = admin_as(reception)

    client.get("/admin/practice/patient/", {"p": "2"})
    second_page = ordered[100:]
    event = assert_audited(second_page[0], actor=reception, via="admin", action="list", page_number=2)
    assert event.patient_ids == [p.pk for p in second_page]
    assert ordered[0].pk not in event.patient_ids

    client.get("/admin/practice/patient/", {"all": ""})
    shown_all = assert_audited(ordered[-1], actor=reception, via="admin", action="list", show_all=True)
    assert sorted(shown_all.patient_ids) == sorted(p.pk for p in ordered)

    client.get("/admin/practice/patient/", {"consent_marketing__exact": "1"})
    filtered = assert_audited(
        consenting, actor=reception, via="admin", page="changelist", params={"consent_marketing__exact": "1"}
    )
    assert filtered.patient_ids == [consenting.pk]


def test_a_search_of_the_patient_list_names_the_patients_found(reception, admin_as) -> None:
    patient = PatientFactory(last_name="Fairweather")
    PatientFactory(last_name="Okonkwo")
    admin_as(reception).get("/admin/practice/patient/", {"q": "Fairweather"})
    event = assert_audited(patient, actor=reception, via="admin", action="search", page="changelist")
    assert event.detail["query"] == "Fairweather" and event.patient_ids == [patient.pk]


@pytest.mark.parametrize("model", ["spectacleprescription", "contactlensprescription", "recall", "sale", "labjob"])
def test_every_list_that_names_patients_is_audited(model, reception, admin_as) -> None:
    record: Any = {
        "spectacleprescription": SpectaclePrescriptionFactory,
        "contactlensprescription": ContactLensPrescriptionFactory,
        "recall": RecallFactory,
        "sale": SaleFactory,
        "labjob": ready_lab_job,
    }[model]()
    page = admin_as(reception).get(f"/admin/practice/{model}/")
    assert page.status_code == 200 and escape(record.patient.last_name).encode() in page.content
    assert_audited(record.patient, actor=reception, via="admin", action="list", page="changelist")


# --- record pages -----------------------------------------------------------------------------


def test_opening_a_sale_in_the_admin_is_audited(reception, admin_as) -> None:
    sale = SaleFactory()
    page = admin_as(reception).get(f"/admin/practice/sale/{sale.pk}/change/")
    assert page.status_code == 200 and escape(sale.patient.last_name).encode() in page.content
    event = assert_audited(sale.patient, actor=reception, via="admin", action="view")
    assert event.target_type == "practice.Sale" and event.target_id == str(sale.pk)


def test_a_records_history_page_is_audited(reception, admin_as) -> None:
    rx = SpectaclePrescriptionFactory()
    client = admin_as(reception)
    assert client.get(f"/admin/practice/patient/{rx.patient.pk}/history/").status_code == 200
    assert_audited(rx.patient, actor=reception, via="admin", action="view", page="history")
    assert client.get(f"/admin/practice/spectacleprescription/{rx.pk}/history/").status_code == 200
    assert AuditEvent.objects.filter(
        actor=reception, action="view", patient=rx.patient, target_type="practice.SpectaclePrescription"
    ).exists()


def test_delete_confirmation_pages_are_audited(manager, admin_as) -> None:
    one, two, three = PatientFactory.create_batch(3)
    client = admin_as(manager)
    page = client.get(f"/admin/practice/patient/{one.pk}/delete/")
    assert page.status_code == 200 and escape(one.last_name).encode() in page.content
    assert_audited(one, actor=manager, via="admin", action="view", page="delete_confirmation")
    confirm = client.post(
        "/admin/practice/patient/", {"action": "delete_selected", "_selected_action": [two.pk, three.pk]}
    )
    assert confirm.status_code == 200 and escape(three.last_name).encode() in confirm.content
    event = assert_audited(three, actor=manager, via="admin", action="list", page="delete_confirmation")
    assert sorted(event.patient_ids) == sorted([two.pk, three.pk])
    assert Patient.objects.count() == 3  # only confirmation pages so far


def test_an_add_page_opened_for_a_patient_is_audited(clinician, admin_as) -> None:
    patient = PatientFactory()
    page = admin_as(clinician).get("/admin/practice/spectacleprescription/add/", {"patient": patient.pk})
    assert page.status_code == 200 and escape(patient.last_name).encode() in page.content
    assert_audited(patient, actor=clinician, via="admin", action="view", page="add")


def test_an_export_names_every_patient_exported(manager, admin_as) -> None:
    patients = PatientFactory.create_batch(AUDIT_PATIENT_IDS_PER_EVENT + 50)
    response = admin_as(manager).post(
        "/admin/practice/patient/", {"action": "export_csv", "_selected_action": [p.pk for p in patients]}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    events = list(AuditEvent.objects.filter(action="export", actor=manager).order_by("id"))
    assert [e.detail["part"] for e in events] == [[1, 2], [2, 2]]
    assert all(len(e.patient_ids) <= AUDIT_PATIENT_IDS_PER_EVENT for e in events)
    assert sorted(pk for e in events for pk in e.patient_ids) == sorted(p.pk for p in patients)


def test_the_sales_report_page_names_no_patient(manager, admin_as) -> None:
    job = ready_lab_job()
    page = admin_as(manager).get("/admin/practice/salesdaysummary/")
    assert page.status_code == 200
    assert b"1 pair(s) of glasses ready for collection" in page.content
    for private in (job.patient.first_name, job.patient.last_name, job.patient.phone):
        assert private.encode() not in page.content


# --- the API ----------------------------------------------------------------------------------


def test_lab_jobs_ready_for_collection_in_the_api_are_audited(bearer_client, reception) -> None:
    job = ready_lab_job()
    response = bearer_client(reception).get("/api/v1/lab-jobs/ready/")
    assert response.status_code == 200 and response.data[0]["patient_name"] == job.patient.full_name
    event = assert_audited(job.patient, actor=reception, via="api", action="list")
    assert event.detail["report"] == "ready"


def test_searching_sales_by_patient_name_in_the_api_is_audited(reception, api_as) -> None:
    sale = SaleFactory(patient=PatientFactory(last_name="Pemberton"))
    SaleFactory()
    response = api_as(reception).get("/api/v1/sales/", {"search": "Pemberton"})
    assert response.status_code == 200 and [row["id"] for row in response.data["results"]] == [sale.pk]
    event = assert_audited(sale.patient, actor=reception, via="api", action="search")
    assert event.patient_ids == [sale.patient.pk] and event.detail["query"] == {"search": "Pemberton"}


def test_reading_a_sale_in_the_api_is_audited(reception, api_as) -> None:
    sale = SaleFactory()
    assert api_as(reception).get(f"/api/v1/sales/{sale.pk}/").status_code == 200
    event = assert_audited(sale.patient, actor=reception, via="api", action="view")
    assert event.target_type == "practice.Sale"


def test_api_lists_name_the_patients_not_the_rows(reception, api_as) -> None:
    PatientFactory.create_batch(3)  # so that prescription ids and patient ids differ
    rx = SpectaclePrescriptionFactory()
    recall = RecallFactory(due_date=timezone.localdate() + dt.timedelta(days=3))
    assert rx.pk != rx.patient.pk and recall.pk != recall.patient.pk
    client = api_as(reception)
    for url, patient in (
        ("/api/v1/spectacle-prescriptions/", rx.patient),
        ("/api/v1/recalls/", recall.patient),
        ("/api/v1/recalls/due/", recall.patient),
        ("/api/v1/patients/", rx.patient),
    ):
        assert client.get(url).status_code == 200, url
        event = AuditEvent.objects.filter(actor=reception, detail__via="api").latest("id")
        assert patient.pk in event.patient_ids, (url, event.patient_ids)
    assert rx.pk not in AuditEvent.objects.get(detail__model="practice.SpectaclePrescription").patient_ids


@pytest.mark.parametrize("role", ["reception", "clinician", "manager"])
def test_the_browsable_api_lists_no_patient_in_its_forms(role, request, api_as) -> None:
    user = request.getfixturevalue(role)
    bystanders = [PatientFactory(last_name=name) for name in ("Quenby", "Ravenscroft", "Stallworthy")]
    recall = RecallFactory()
    rx = SpectaclePrescriptionFactory(patient=recall.patient)
    client = api_as(user)
    for url in (
        "/api/v1/recalls/",
        f"/api/v1/recalls/{recall.pk}/",
        "/api/v1/lab-jobs/",
        "/api/v1/sales/",
        "/api/v1/spectacle-prescriptions/",
        f"/api/v1/spectacle-prescriptions/{rx.pk}/",
        "/api/v1/contact-lens-prescriptions/",
    ):
        page = client.get(url, HTTP_ACCEPT="text/html")
        assert page.status_code == 200 and page["Content-Type"].startswith("text/html"), url
        for patient in bystanders:  # on no page's results: filter and edit forms must not list them
            assert patient.last_name not in page.content.decode(), (url, patient.last_name)


# --- who looked at patient X ------------------------------------------------------------------


def test_a_patients_audit_history_includes_the_lists_that_showed_them(reception, manager, api_as, admin_as) -> None:
    patient = PatientFactory(last_name="Thistlewood")
    others = PatientFactory.create_batch(2)
    admin_as(reception).get("/admin/practice/patient/")
    autocomplete(admin_as(reception), field="patient")
    api_as(reception).get("/api/v1/patients/")
    shown = {e.pk for e in AuditEvent.objects.filter(actor=reception)}
    assert len(shown) == 3

    assert {e.pk for e in selectors.audit_events_for_patient(patient_id=patient.pk)} == shown

    trail = api_as(manager).get("/api/v1/audit-events/", {"patient": patient.pk})
    assert trail.status_code == 200
    assert {row["id"] for row in trail.data["results"]} == shown

    page = admin_as(manager).get("/admin/practice/auditevent/", {"patient": patient.pk})
    assert page.status_code == 200
    assert {e.pk for e in page.context["cl"].result_list} == shown
    for where in ("admin · changelist · practice.Patient", "admin · autocomplete · practice.sale.patient"):
        assert where in page.content.decode()
    by_name = admin_as(manager).get("/admin/practice/auditevent/", {"q": "Thistlewood"})
    assert shown <= {e.pk for e in by_name.context["cl"].result_list}

    # The patient's page links a manager to that history.
    record = admin_as(manager).get(f"/admin/practice/patient/{patient.pk}/change/")
    assert f"/admin/practice/auditevent/?patient={patient.pk}".encode() in record.content
    assert others[0].pk != patient.pk


def test_a_list_event_keeps_at_most_its_bound_of_ids_and_says_so(reception) -> None:
    ids = list(range(1, AUDIT_PATIENT_IDS_PER_EVENT + 51))
    event = services.audit_event_record(actor=reception, action="list", patient_ids=ids)
    assert event.patient_ids == ids[:AUDIT_PATIENT_IDS_PER_EVENT]
    assert event.patient_ids_truncated and event.detail["patients_shown"] == len(ids)
    small = services.audit_event_record(actor=reception, action="list", patient_ids=[5, 5, 7])
    assert small.patient_ids == [5, 7] and not small.patient_ids_truncated
