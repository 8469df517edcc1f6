"""Lab jobs follow ordered -> at lab -> ready -> collected (plus remake and cancel), one step at a time."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from practice import selectors, services
from practice.models import LabJob, LabJobStatus
from tests.factories import UserFactory
from tests.practice.factories import SpectaclePrescriptionFactory, stocked_product

pytestmark = pytest.mark.django_db


def make_job() -> LabJob:
    rx = SpectaclePrescriptionFactory()
    staff = UserFactory()
    sale = services.sale_create(
        staff=staff,
        patient=rx.patient,
        lines=[{"product": stocked_product(1)}, {"product": stocked_product(1, progressive_lens=True)}],
    )
    services.sale_complete(sale=sale, user=staff)
    return LabJob.objects.get(sale=sale)


def test_the_main_path_stamps_each_step() -> None:
    job = make_job()
    for expected in (LabJobStatus.AT_LAB, LabJobStatus.READY, LabJobStatus.COLLECTED):
        job = services.lab_job_advance(job=job)
        assert job.status == expected
    assert job.ordered_at <= job.sent_at <= job.ready_at <= job.collected_at
    with pytest.raises(ValidationError):
        services.lab_job_advance(job=job)


def test_skipping_a_step_is_refused() -> None:
    job = make_job()
    with pytest.raises(ValidationError) as caught:
        services.lab_job_transition(job=job, status=LabJobStatus.READY)
    assert "status" in caught.value.message_dict
    assert "At lab" in caught.value.message_dict["status"][0]
    job.refresh_from_db()
    assert job.status == LabJobStatus.ORDERED and job.ready_at is None


def test_remake_goes_back_to_the_lab_and_cancelled_is_final() -> None:
    job = make_job()
    services.lab_job_advance(job=job)
    services.lab_job_advance(job=job)
    job = services.lab_job_transition(job=job, status=LabJobStatus.REMAKE, note="axis out")
    assert job.remake_count == 1 and job.remake_at is not None and "axis out" in job.notes
    job = services.lab_job_advance(job=job)
    assert job.status == LabJobStatus.AT_LAB
    job = services.lab_job_transition(job=job, status=LabJobStatus.CANCELLED)
    for status in LabJobStatus.values:
        with pytest.raises(ValidationError):
            services.lab_job_transition(job=job, status=status)


def test_api_advance_and_ready_list(api_as, reception) -> None:
    job = make_job()
    client = api_as(reception)
    skipped = client.post(f"/api/v1/lab-jobs/{job.pk}/advance/", {"status": "collected"}, format="json")
    assert skipped.status_code == 409 and "status" in skipped.data
    assert client.post(f"/api/v1/lab-jobs/{job.pk}/advance/", {}, format="json").data["status"] == "at_lab"
    assert client.post(f"/api/v1/lab-jobs/{job.pk}/advance/", {}, format="json").data["status"] == "ready"
    ready = client.get("/api/v1/lab-jobs/ready/")
    assert ready.status_code == 200 and [row["reference"] for row in ready.data] == [job.reference]
    assert selectors.lab_jobs_ready_for_collection()[0]["patient_id"] == job.patient_id
    bogus = client.post(f"/api/v1/lab-jobs/{job.pk}/advance/", {"status": "shipped"}, format="json")
    assert bogus.status_code == 400 and "status" in bogus.data


def test_each_pair_of_lenses_opens_a_lab_job_named_after_the_sale() -> None:
    rx = SpectaclePrescriptionFactory()
    staff = UserFactory()
    frames = [stocked_product(1), stocked_product(1)]
    lenses = [stocked_product(1, progressive_lens=True), stocked_product(1, progressive_lens=True)]
    sale = services.sale_create(
        staff=staff, patient=rx.patient, lines=[{"product": p} for p in (frames[0], lenses[0], frames[1], lenses[1])]
    )
    services.sale_complete(sale=sale, user=staff)
    assert sale.reference.startswith("S-")
    jobs = list(LabJob.objects.filter(sale=sale).order_by("reference"))
    assert [(job.reference, job.frame, job.lens) for job in jobs] == [
        (f"LJ-{sale.reference[2:]}-1", frames[0], lenses[0]),
        (f"LJ-{sale.reference[2:]}-2", frames[1], lenses[1]),
    ]
