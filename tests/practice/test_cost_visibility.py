"""Cost prices and margins are for users with practice.view_cost_price (managers): one selector
decides, and every place that shows products or stock asks it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from practice.selectors import cost_visibility
from tests.factories import UserFactory
from tests.practice.factories import ProductFactory

pytestmark = pytest.mark.django_db

ROW = {"sku": "FR-1", "price": Decimal("120.00"), "cost_price": Decimal("40.00"), "margin_percent": 66.7}


def test_a_manager_sees_cost_figures_and_reception_does_not(manager, reception) -> None:
    assert cost_visibility(user=manager).visible
    assert cost_visibility(user=manager).rows([ROW]) == [ROW]
    assert not cost_visibility(user=reception).visible
    assert cost_visibility(user=reception).rows([ROW]) == [{"sku": "FR-1", "price": Decimal("120.00")}]


def test_superusers_see_cost_figures_and_nobody_else_does_by_default() -> None:
    assert cost_visibility(user=UserFactory(is_superuser=True)).visible
    assert not cost_visibility(user=UserFactory()).visible
    assert not cost_visibility(user=None).visible


def test_columns_and_fieldset_rows_lose_cost_and_margin_fields(reception, manager) -> None:
    def shown(obj: object) -> str:
        return "shown"

    names = ["sku", ("price", "cost_price"), "gross_margin", shown, ("cost_price",)]
    assert cost_visibility(user=reception).fields(names) == ["sku", ("price",), shown]
    assert cost_visibility(user=manager).fields(names) == names


def _user_with(*codenames: str):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="practice", codename__in=codenames))
    return user


def test_the_sales_report_lists_low_stock_without_cost_prices_for_those_who_may_not(admin_as) -> None:
    ProductFactory(sku="LOW-1", reorder_level=3, cost_price=Decimal("41.00"))  # no stock: low
    reports_only = _user_with("view_reports")
    with_cost = _user_with("view_reports", "view_cost_price")
    hidden = admin_as(reports_only).get("/admin/practice/salesdaysummary/")
    shown = admin_as(with_cost).get("/admin/practice/salesdaysummary/")
    assert hidden.status_code == shown.status_code == 200
    assert [row["sku"] for row in hidden.context["low_stock"]] == ["LOW-1"]
    assert "cost_price" not in hidden.context["low_stock"][0]
    assert shown.context["low_stock"][0]["cost_price"] == Decimal("41.00")


def test_a_product_export_has_a_cost_column_only_for_managers(reception, manager, admin_as) -> None:
    product = ProductFactory(cost_price=Decimal("41.00"))

    def export(user) -> list[list[str]]:  # type: ignore[no-untyped-def]
        response = admin_as(user).post(
            "/admin/practice/product/", {"action": "export_csv", "_selected_action": [product.pk]}
        )
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(response.content.decode())))

    header, row = export(manager)
    assert "Cost price" in header and row[header.index("Cost price")] == "41.00"
    header, row = export(reception)
    assert "Cost price" not in header and "41.00" not in row
