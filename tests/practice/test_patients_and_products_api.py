"""Patients and products through the REST API: validation, filtering, ordering, pagination."""

from __future__ import annotations

import pytest

from practice.models import Patient, Product
from tests.practice.factories import PatientFactory, ProductFactory, give_stock

pytestmark = pytest.mark.django_db


def test_patient_create_validates_and_lists_with_search_and_pagination(reception, api_as) -> None:
    client = api_as(reception)
    bad = client.post(
        "/api/v1/patients/",
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "date_of_birth": "2999-01-01",
            "email": "not-an-email",
            "phone": "12",
        },
        format="json",
    )
    assert bad.status_code == 400 and "email" in bad.data
    bad = client.post(
        "/api/v1/patients/",
        {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "2999-01-01", "phone": "12"},
        format="json",
    )
    assert bad.status_code == 400 and "date_of_birth" in bad.data
    assert not Patient.objects.exists()
    ok = client.post(
        "/api/v1/patients/",
        {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1961-04-03", "phone": "07700 900 001"},
        format="json",
    )
    assert ok.status_code == 201, ok.data
    PatientFactory.create_batch(60)
    page = client.get("/api/v1/patients/", {"ordering": "-date_of_birth"})
    assert page.data["count"] == 61 and len(page.data["results"]) == 50 and page.data["next"]
    found = client.get("/api/v1/patients/", {"q": "03/04/1961"})
    assert [row["last_name"] for row in found.data["results"]] == ["Lee"]


def test_product_rules_filters_and_low_stock(manager, api_as) -> None:
    client = api_as(manager)
    frame = {
        "category": "frame",
        "sku": "FR-X-1",
        "brand": "Ray-Ban",
        "model": "RB5154",
        "price": "149.00",
        "frame_eye_size": 51,
        "frame_bridge": 21,
        "frame_temple": 145,
    }
    created = client.post("/api/v1/products/", frame, format="json")
    assert created.status_code == 201 and created.data["frame_size"] == "51-21-145"
    # Another product holds the SKU: a conflict with the stored records, not a malformed request.
    taken = client.post("/api/v1/products/", {**frame, "sku": "FR-X-1"}, format="json")
    assert taken.status_code == 409 and "sku" in taken.data, taken.data
    for changes, field in [
        ({"sku": "FR-X-2", "lens_type": "progressive"}, "lens_type"),
        ({"sku": "FR-X-3", "frame_temple": None}, "frame_eye_size"),
        ({"sku": "FR-X-4", "price": "-1.00"}, "price"),
        ({"sku": "FR-X-5", "category": "hat"}, "category"),
        (
            {
                "sku": "FR-X-6",
                "category": "spectacle_lens",
                "lens_type": "progressive",
                "lens_index": "1.55",
                "frame_eye_size": None,
                "frame_bridge": None,
                "frame_temple": None,
            },
            "lens_index",
        ),
        ({"sku": "FR-X-7", "coatings": ["gold_plating"]}, "coatings"),
    ]:
        response = client.post("/api/v1/products/", {**frame, **changes}, format="json")
        assert response.status_code == 400, (changes, response.data)
        assert field in response.data, (changes, response.data)
    assert Product.objects.count() == 1
    give_stock(
        ProductFactory(category="solution", frame_eye_size=None, frame_bridge=None, frame_temple=None, reorder_level=5),
        2,
    )
    assert [p["category"] for p in client.get("/api/v1/products/", {"category": "solution"}).data["results"]] == [
        "solution"
    ]
    low = client.get("/api/v1/products/", {"low_stock": "true"}).data["results"]
    assert {p["sku"] for p in low} == set(Product.objects.values_list("sku", flat=True))
    assert client.get("/api/v1/products/low-stock/", {"category": "hats"}).status_code == 400
