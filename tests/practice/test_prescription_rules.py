"""Spectacle and contact lens prescription rules: ranges, 0.25 D steps, the axis rule,
transposition to minus cylinder and the rendering opticians write."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from practice import optics, services
from practice.models import SpectaclePrescription
from tests.practice.factories import (
    ContactLensPrescriptionFactory,
    PatientFactory,
    SpectaclePrescriptionFactory,
)

D = Decimal
pytestmark = pytest.mark.django_db

VALID = {
    "issue_date": "2026-01-10",
    "expiry_date": "2028-01-10",
    "right_sphere": "-2.25",
    "right_cylinder": "-0.75",
    "right_axis": 180,
    "right_add": "2.00",
    "left_sphere": "-2.00",
    "left_cylinder": "-0.50",
    "left_axis": 170,
    "left_add": "2.00",
    "binocular_pd": "63.0",
}


def test_rendering_is_as_opticians_write_it() -> None:
    rx = SpectaclePrescriptionFactory.build()
    assert rx.render() == "R -2.25/-0.75 x 180 Add +2.00; L -2.00/-0.50 x 170 Add +2.00; PD 63"


def test_rendering_of_plano_spheres_prism_and_monocular_pd() -> None:
    rx = SpectaclePrescriptionFactory.build(
        right_sphere=D("0"),
        right_cylinder=D("-0.50"),
        right_axis=90,
        right_add=None,
        left_sphere=D("1.50"),
        left_cylinder=D("0"),
        left_axis=None,
        left_add=None,
        right_prism=D("1.00"),
        right_prism_base="in",
        binocular_pd=None,
        right_pd=D("31.5"),
        left_pd=D("32.0"),
    )
    assert rx.render() == "R Plano/-0.50 x 90 1.00Δ base in; L +1.50 DS; PD 31.5/32"


def test_transposition_formula() -> None:
    assert optics.transpose(D("-1.00"), D("+0.75"), 90) == (D("-0.25"), D("-0.75"), 180)
    assert optics.transpose(D("+2.00"), D("+1.00"), 135) == (D("3.00"), D("-1.00"), 45)
    # Transposing twice gives the original back.
    assert optics.transpose(*optics.transpose(D("-3.00"), D("-1.25"), 20)) == (D("-3.00"), D("-1.25"), 20)


def test_plus_cylinder_is_stored_as_minus_cylinder() -> None:
    patient = PatientFactory()
    rx = services.spectacle_prescription_create(
        patient=patient,
        issue_date="2026-01-10",
        expiry_date="2028-01-10",
        right_sphere=D("-1.00"),
        right_cylinder=D("0.75"),
        right_axis=90,
        left_sphere=D("+1.50"),
        left_cylinder=D("+0.50"),
        left_axis=180,
    )
    rx.refresh_from_db()
    assert (rx.right_sphere, rx.right_cylinder, rx.right_axis) == (D("-0.25"), D("-0.75"), 180)
    assert (rx.left_sphere, rx.left_cylinder, rx.left_axis) == (D("2.00"), D("-0.50"), 90)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"right_axis": 181}, "right_axis", "1 to 180"),
        ({"right_axis": 0}, "right_axis", "1 to 180"),
        ({"right_sphere": "0.13"}, "right_sphere", "0.25 D steps"),
        ({"left_sphere": "30.25"}, "left_sphere", "between -30.00 D and +30.00 D"),
        ({"right_cylinder": "-10.25", "right_axis": 90}, "right_cylinder", "between -10.00 D and +10.00 D"),
        ({"left_cylinder": "-0.10"}, "left_cylinder", "0.25 D steps"),
        ({"right_axis": None}, "right_axis", "required when there is a cylinder"),
        ({"left_cylinder": "0.00"}, "left_axis", "empty when the cylinder is zero"),
        ({"right_add": "0.25"}, "right_add", "between +0.50 D and +4.00 D"),
        ({"right_add": "4.25"}, "right_add", "between +0.50 D and +4.00 D"),
        ({"right_intermediate_add": "2.50"}, "right_intermediate_add", "near addition greater"),
        ({"right_prism": "10.50", "right_prism_base": "in"}, "right_prism", "between"),
        ({"right_prism": "1.00"}, "right_prism_base", "required with a prism"),
        ({"right_prism_base": "up"}, "right_prism_base", "needs a prism amount"),
        ({"binocular_pd": "85.0"}, "binocular_pd", "between 40.0 mm and 80.0 mm"),
        ({"right_pd": "19.5", "left_pd": "31.0"}, "right_pd", "between 20.0 mm and 40.0 mm"),
        ({"right_pd": "31.0"}, "left_pd", "both eyes or neither"),
        ({"expiry_date": "2025-12-01"}, "expiry_date", "after the issue date"),
        ({"right_sphere": "29.00", "right_cylinder": "+2.00", "right_axis": 90}, "right_sphere", "+31.00"),
    ],
)
def test_each_bad_value_is_refused_through_the_api_with_its_field_and_rule(
    clinician, api_as, changes: dict, field: str, words: str
) -> None:
    patient = PatientFactory()
    response = api_as(clinician).post(
        "/api/v1/spectacle-prescriptions/", {**VALID, "patient": patient.pk, **changes}, format="json"
    )
    assert response.status_code == 400, response.data
    assert field in response.data, response.data
    assert any(words in str(message) for message in response.data[field]), response.data[field]
    assert not SpectaclePrescription.objects.exists()


def test_a_valid_prescription_is_created_and_rendered_through_the_api(clinician, api_as) -> None:
    patient = PatientFactory()
    response = api_as(clinician).post(
        "/api/v1/spectacle-prescriptions/",
        {**VALID, "patient": patient.pk, "right_cylinder": "+0.75", "right_sphere": "-3.00", "right_axis": 90},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["right_cylinder"] == "-0.75"
    assert response.data["rendered"].startswith("R -2.25/-0.75 x 180 Add +2.00; L -2.00/-0.50 x 170")


def test_services_refuse_bad_values_without_saving() -> None:
    patient = PatientFactory()
    with pytest.raises(ValidationError) as caught:
        services.spectacle_prescription_create(
            patient=patient,
            issue_date="2026-01-10",
            expiry_date="2028-01-10",
            right_sphere=D("-1.00"),
            right_cylinder=D("-0.50"),
            right_axis=None,
            left_sphere=D("-1.00"),
        )
    assert "right_axis" in caught.value.message_dict
    assert not SpectaclePrescription.objects.exists()


def test_contact_lens_prescription_rules_and_rendering(clinician, api_as) -> None:
    rx = ContactLensPrescriptionFactory()
    assert rx.render() == ("R 8.40/14.00 -2.25 DS; L 8.40/14.00 -2.00 DS (Acuvue Oasys, two-weekly)")
    patient = PatientFactory()
    body = {
        "patient": patient.pk,
        "issue_date": "2026-01-10",
        "expiry_date": "2027-01-10",
        "brand": "Biofinity Toric",
        "replacement": "monthly",
        "right_base_curve": "8.70",
        "right_diameter": "14.50",
        "right_power": "-1.50",
        "right_cylinder": "-1.25",
        "right_axis": None,
        "left_base_curve": "6.50",
        "left_diameter": "16.00",
        "left_power": "-1.13",
    }
    response = api_as(clinician).post("/api/v1/contact-lens-prescriptions/", body, format="json")
    assert response.status_code == 400
    assert "right_axis" in response.data
    assert "left_base_curve" in response.data and "7.00 mm" in response.data["left_base_curve"][0]
    assert "left_diameter" in response.data
    assert "left_power" in response.data
