"""Roles are enforced in the API and the admin; every read and change of a patient's record
is audited, and the audit trail cannot be changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import DatabaseError, transaction

from practice import roles, services
from practice.models import AuditEvent, SpectaclePrescription
from tests.practice.factories import PatientFactory, ProductFactory, SpectaclePrescriptionFactory

pytestmark = pytest.mark.django_db


def test_migrations_create_the_groups_with_their_permissions() -> None:
    names = set(Group.objects.values_list("name", flat=True))
    assert {roles.RECEPTION, roles.CLINICIAN, roles.MANAGER, roles.ML_ADMIN} <= names
    manager = Group.objects.get(name=roles.MANAGER)
    codenames = set(manager.permissions.values_list("codename", flat=True))
    assert {"view_cost_price", "view_reports", "view_audit_event"} <= codenames
    reception = set(Group.objects.get(name=roles.RECEPTION).permissions.values_list("codename", flat=True))
    assert "view_spectacleprescription" in reception and "change_spectacleprescription" not in reception
    assert "view_cost_price" not in reception
    roles.sync_role_permissions()  # idempotent
    assert set(manager.permissions.values_list("codename", flat=True)) == codenames


def test_reception_can_read_but_not_write_prescriptions_in_the_api(reception, clinician, api_as) -> None:
    rx = SpectaclePrescriptionFactory()
    client = api_as(reception)
    assert client.get(f"/api/v1/spectacle-prescriptions/{rx.pk}/").status_code == 200
    assert (
        client.patch(f"/api/v1/spectacle-prescriptions/{rx.pk}/", {"right_sphere": "-3.00"}, format="json").status_code
        == 403
    )
    assert client.post("/api/v1/spectacle-prescriptions/", {}, format="json").status_code == 403
    assert client.delete(f"/api/v1/spectacle-prescriptions/{rx.pk}/").status_code == 403
    changed = api_as(clinician).patch(
        f"/api/v1/spectacle-prescriptions/{rx.pk}/", {"right_sphere": "-3.00"}, format="json"
    )
    assert changed.status_code == 200, changed.data
    assert changed.data["right_sphere"] == "-3.00"


def test_reception_cannot_edit_a_prescription_in_the_admin(reception, clinician, admin_as) -> None:
    rx = SpectaclePrescriptionFactory()
    url = f"/admin/practice/spectacleprescription/{rx.pk}/change/"
    page = admin_as(reception).get(url)
    assert page.status_code == 200
    assert b'name="right_sphere"' not in page.content  # read-only view
    assert rx.render().encode() in page.content
    post = admin_as(reception).post(url, {"right_sphere": "-9.00"})
    assert post.status_code == 403
    rx.refresh_from_db()
    assert rx.right_sphere == Decimal("-2.25")
    assert admin_as(clinician).get(url).content.count(b'name="right_sphere"') == 1


def test_cost_price_is_for_managers_only(reception, manager, api_as, admin_as) -> None:
    product = ProductFactory(cost_price=Decimal("41.00"))
    assert "cost_price" not in api_as(reception).get(f"/api/v1/products/{product.pk}/").data
    assert api_as(manager).get(f"/api/v1/products/{product.pk}/").data["cost_price"] == "41.00"
    low = api_as(reception).get("/api/v1/products/low-stock/").data
    assert low and "cost_price" not in low[0]
    assert "cost_price" in api_as(manager).get("/api/v1/products/low-stock/").data[0]
    assert b"41.00" not in admin_as(reception).get("/admin/practice/product/").content
    assert b"41.00" in admin_as(manager).get("/admin/practice/product/").content
    assert b"41.00" not in admin_as(reception).get(f"/admin/practice/product/{product.pk}/change/").content
    # Writing a cost price without the permission changes nothing.
    api_as(reception).patch(f"/api/v1/products/{product.pk}/", {"cost_price": "1.00"}, format="json")
    product.refresh_from_db()
    assert product.cost_price == Decimal("41.00")


def test_reports_and_audit_are_for_managers(reception, manager, api_as, admin_as) -> None:
    query = "/api/v1/reports/sales-summary/?start=2026-01-01&end=2026-01-31"
    assert api_as(reception).get(query).status_code == 403
    assert api_as(manager).get(query).status_code == 200
    assert api_as(reception).get("/api/v1/audit-events/").status_code == 403
    assert api_as(manager).get("/api/v1/audit-events/").status_code == 200
    assert admin_as(reception).get("/admin/practice/auditevent/").status_code == 403
    assert admin_as(manager).get("/admin/practice/auditevent/").status_code == 200
    assert admin_as(reception).get("/admin/practice/salesdaysummary/").status_code == 403
    assert admin_as(manager).get("/admin/practice/salesdaysummary/").status_code == 200


def test_reading_a_patient_through_the_api_is_audited(reception, api_as) -> None:
    patient = PatientFactory()
    client = api_as(reception)
    response = client.get(f"/api/v1/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="view")
    assert (event.actor, event.patient_id, event.ip, event.detail["via"]) == (reception, patient.pk, "10.1.2.3", "api")
    client.get("/api/v1/patients/", {"q": patient.last_name})
    search = AuditEvent.objects.get(action="search")
    assert patient.pk in search.patient_ids and search.detail["query"] == {"q": patient.last_name}
    client.patch(f"/api/v1/patients/{patient.pk}/", {"phone": "01858 123456"}, format="json")
    change = AuditEvent.objects.get(action="change")
    assert change.detail["fields"] == ["phone"]
    rx = SpectaclePrescriptionFactory(patient=patient)
    client.get(f"/api/v1/spectacle-prescriptions/{rx.pk}/")
    assert AuditEvent.objects.filter(
        action="view", patient=patient, target_type="practice.SpectaclePrescription"
    ).exists()


def test_reading_and_changing_a_patient_in_the_admin_is_audited(clinician, manager, admin_as) -> None:
    patient = PatientFactory()
    client = admin_as(clinician)
    assert client.get(f"/admin/practice/patient/{patient.pk}/change/").status_code == 200
    event = AuditEvent.objects.get(action="view")
    assert (event.actor_username, event.patient_id, event.detail["via"]) == (clinician.username, patient.pk, "admin")
    client.get("/admin/practice/patient/", {"q": patient.date_of_birth.strftime("%d/%m/%Y")})
    assert AuditEvent.objects.filter(action="search").exists()
    # The manager sees who looked at the patient.
    trail = admin_as(manager).get("/admin/practice/auditevent/", {"q": patient.last_name})
    assert clinician.username.encode() in trail.content


def test_audit_events_are_append_only(manager, api_as) -> None:
    event = services.audit_event_record(actor=manager, action="view", patient=PatientFactory())
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        # Even raw SQL is refused by the trigger.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("UPDATE practice_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    client = api_as(manager)
    assert client.patch(f"/api/v1/audit-events/{event.pk}/", {"action": "x"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/audit-events/{event.pk}/").status_code == 405
    assert not SpectaclePrescription.objects.exists()


def test_bearer_api_key_authenticates(bearer_client, reception) -> None:
    patient = PatientFactory()
    client = bearer_client(reception)
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert AuditEvent.objects.get(action="view").actor == reception


def test_users_without_a_role_see_nothing(user, api_as) -> None:
    PatientFactory()
    assert api_as(user).get("/api/v1/patients/").status_code == 403
