"""The stock ledger and sales: completion takes stock atomically, refunds give it back."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from practice import selectors, services
from practice.models import Category, LabJob, LabJobStatus, Product, Sale, SaleStatus, StockMovement
from tests.factories import UserFactory
from tests.practice.factories import (
    PatientFactory,
    ProductFactory,
    SpectaclePrescriptionFactory,
    completed_sale,
    give_stock,
    stocked_product,
)

D = Decimal


def assert_ledger_consistent(*products: Product) -> None:
    for product in products:
        product.refresh_from_db()
        assert selectors.stock_ledger_total(product=product) == product.quantity_on_hand
        last = product.stock_movements.order_by("-created_at", "-id").first()
        if last is not None:
            assert last.balance_after == product.quantity_on_hand


@pytest.mark.django_db
class TestLedger:
    def test_receipts_adjustments_and_write_offs_keep_quantity_equal_to_the_ledger(self) -> None:
        product = ProductFactory()
        services.stock_receive(product=product, quantity=10, note="delivery")
        services.stock_adjust(product=product, quantity=-2, note="stock take")
        services.stock_write_off(product=product, quantity=3, note="damaged")
        assert product.quantity_on_hand == 5
        assert_ledger_consistent(product)
        assert list(product.stock_movements.order_by("id").values_list("kind", "quantity", "balance_after")) == [
            ("receipt", 10, 10),
            ("adjustment", -2, 8),
            ("write_off", -3, 5),
        ]

    @pytest.mark.parametrize("quantity", [0, -1, 2.5])
    def test_a_receipt_needs_a_positive_whole_quantity(self, quantity) -> None:
        product = ProductFactory()
        with pytest.raises(ValidationError) as caught:
            services.stock_receive(product=product, quantity=quantity)
        assert "quantity" in caught.value.message_dict
        assert not StockMovement.objects.exists()

    def test_stock_cannot_go_below_zero(self) -> None:
        product = give_stock(ProductFactory(), 2)
        with pytest.raises(ValidationError):
            services.stock_write_off(product=product, quantity=3, note="lost")
        assert_ledger_consistent(product)
        assert product.quantity_on_hand == 2

    def test_stock_movements_api_records_receipts_and_refuses_bad_input(self, manager, reception, api_as) -> None:
        product = ProductFactory(sku="FR-TEST-1")
        client = api_as(manager)
        ok = client.post(
            "/api/v1/stock-movements/", {"sku": "FR-TEST-1", "kind": "receipt", "quantity": 4}, format="json"
        )
        assert ok.status_code == 201, ok.data
        assert ok.data["balance_after"] == 4
        for body, field in [
            ({"sku": "NOPE", "kind": "receipt", "quantity": 1}, "sku"),
            ({"sku": "FR-TEST-1", "kind": "receipt", "quantity": -3}, "quantity"),
            ({"sku": "FR-TEST-1", "kind": "sale", "quantity": 1}, "kind"),
            ({"sku": "FR-TEST-1", "kind": "adjustment", "quantity": 1}, "note"),
        ]:
            response = client.post("/api/v1/stock-movements/", body, format="json")
            assert response.status_code == 400, (body, response.data)
            assert field in response.data, (body, response.data)
        # Well formed, but more than the stock holds: a conflict with the record's state.
        short = client.post(
            "/api/v1/stock-movements/", {"sku": "FR-TEST-1", "kind": "write_off", "quantity": 9}, format="json"
        )
        assert short.status_code == 409 and "quantity" in short.data, short.data
        # More than the quantity column holds: refused the same way, not a database error.
        overflow = client.post(
            "/api/v1/stock-movements/", {"sku": "FR-TEST-1", "kind": "receipt", "quantity": 2**31 - 2}, format="json"
        )
        assert overflow.status_code == 409 and "quantity" in overflow.data, overflow.data
        assert StockMovement.objects.count() == 1
        # Reception may look at the ledger but not receive stock.
        assert api_as(reception).get("/api/v1/stock-movements/").status_code == 200
        denied = api_as(reception).post(
            "/api/v1/stock-movements/", {"product": product.pk, "kind": "receipt", "quantity": 1}, format="json"
        )
        assert denied.status_code == 403
        # The ledger cannot be edited.
        movement_id = ok.data["id"]
        assert client.patch(f"/api/v1/stock-movements/{movement_id}/", {"quantity": 1}, format="json").status_code in (
            403,
            405,
        )
        assert client.delete(f"/api/v1/stock-movements/{movement_id}/").status_code in (403, 405)


@pytest.mark.django_db
class TestSales:
    def test_completing_a_sale_takes_stock_and_computes_totals(self) -> None:
        frame = stocked_product(3, price=D("150.00"))
        solution = stocked_product(
            5, category=Category.SOLUTION, brand="Alcon", model="Opti-Free", colour="", price=D("12.00")
        )
        staff = UserFactory()
        sale = services.sale_create(
            staff=staff,
            lines=[{"product": frame, "quantity": 1, "discount": "15.00"}, {"sku": solution.sku, "quantity": 2}],
            payments=[{"method": "card", "amount": "100.00"}],
        )
        assert (sale.subtotal, sale.discount_total, sale.total, sale.amount_paid) == (
            D("174.00"),
            D("15.00"),
            D("159.00"),
            D("100.00"),
        )
        assert sale.tax_total == D("26.50")  # 20% VAT inside 159.00
        assert sale.balance_due == D("59.00")
        services.sale_complete(sale=sale, user=staff)
        sale.refresh_from_db()
        assert sale.status == SaleStatus.COMPLETED and sale.sale_date is not None
        frame.refresh_from_db(), solution.refresh_from_db()
        assert (frame.quantity_on_hand, solution.quantity_on_hand) == (2, 3)
        assert_ledger_consistent(frame, solution)

    def test_completing_a_sale_without_enough_stock_changes_nothing(self, api_as, reception) -> None:
        plenty = stocked_product(5)
        scarce = stocked_product(1)
        client = api_as(reception)
        created = client.post(
            "/api/v1/sales/",
            {
                "lines": [
                    {"product": plenty.pk, "quantity": 2},
                    {"product": scarce.pk, "quantity": 2},
                ]
            },
            format="json",
        )
        assert created.status_code == 201, created.data
        movements_before = StockMovement.objects.count()
        response = client.post(f"/api/v1/sales/{created.data['id']}/complete/")
        assert response.status_code == 409
        assert "lines" in response.data and "Not enough stock" in response.data["lines"][0]
        assert scarce.sku in response.data["lines"][0]
        plenty.refresh_from_db(), scarce.refresh_from_db()
        assert (plenty.quantity_on_hand, scarce.quantity_on_hand) == (5, 1)
        assert StockMovement.objects.count() == movements_before
        assert Sale.objects.get(pk=created.data["id"]).status == SaleStatus.DRAFT

    def test_completing_a_sale_twice_is_refused(self, api_as, reception) -> None:
        product = stocked_product(5)
        client = api_as(reception)
        sale_id = client.post("/api/v1/sales/", {"lines": [{"product": product.pk}]}, format="json").data["id"]
        assert client.post(f"/api/v1/sales/{sale_id}/complete/").status_code == 200
        again = client.post(f"/api/v1/sales/{sale_id}/complete/")
        assert again.status_code == 409
        assert "status" in again.data and "completed" in again.data["status"][0]
        product.refresh_from_db()
        assert product.quantity_on_hand == 4
        assert_ledger_consistent(product)

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({"sku": "NO-SUCH-SKU", "quantity": 1}, "sku"),
            ({"quantity": -1}, "quantity"),
            ({"quantity": 0}, "quantity"),
            ({"quantity": 1.5}, "quantity"),
            ({"quantity": 1, "discount": "-5.00"}, "discount"),
        ],
    )
    def test_bad_lines_are_refused_and_nothing_is_written(self, api_as, reception, line, field) -> None:
        product = stocked_product(5)
        body = {"lines": [{"product": product.pk, "quantity": 1}, {"product": product.pk, **line}]}
        if "sku" in line:
            body["lines"][1].pop("product")
        response = api_as(reception).post("/api/v1/sales/", body, format="json")
        assert response.status_code == 400
        assert field in response.data["lines"][1], response.data
        assert not Sale.objects.exists()

    def test_discount_larger_than_the_line_is_refused(self, api_as, reception) -> None:
        product = stocked_product(5, price=D("10.00"))
        response = api_as(reception).post(
            "/api/v1/sales/", {"lines": [{"product": product.pk, "quantity": 1, "discount": "11.00"}]}, format="json"
        )
        assert response.status_code == 400
        assert "lines" in response.data and "Discount" in str(response.data["lines"])
        assert not Sale.objects.exists()

    def test_overpaying_is_refused(self, api_as, reception) -> None:
        product = stocked_product(5, price=D("10.00"))
        client = api_as(reception)
        sale_id = client.post("/api/v1/sales/", {"lines": [{"product": product.pk}]}, format="json").data["id"]
        response = client.post(
            f"/api/v1/sales/{sale_id}/payments/", {"method": "card", "amount": "10.01"}, format="json"
        )
        assert response.status_code == 409 and "amount" in response.data
        ok = client.post(f"/api/v1/sales/{sale_id}/payments/", {"method": "cash", "amount": "10.00"}, format="json")
        assert ok.status_code == 201 and ok.data["balance_due"] == "0.00"

    def test_adding_and_removing_lines_on_a_draft(self, api_as, reception) -> None:
        product = stocked_product(5, price=D("20.00"))
        client = api_as(reception)
        sale_id = client.post("/api/v1/sales/", {}, format="json").data["id"]
        added = client.post(f"/api/v1/sales/{sale_id}/lines/", {"sku": product.sku, "quantity": 2}, format="json")
        assert added.status_code == 201 and added.data["total"] == "40.00"
        line_id = added.data["lines"][0]["id"]
        removed = client.delete(f"/api/v1/sales/{sale_id}/lines/{line_id}/")
        assert removed.status_code == 200 and removed.data["total"] == "0.00"
        empty = client.post(f"/api/v1/sales/{sale_id}/complete/")
        assert empty.status_code == 409 and "lines" in empty.data

    def test_refund_returns_the_stock_and_the_money(self, api_as, manager) -> None:
        product = stocked_product(3, price=D("30.00"))
        client = api_as(manager)
        sale_id = client.post(
            "/api/v1/sales/",
            {
                "lines": [{"product": product.pk, "quantity": 2}],
                "payments": [{"method": "card", "amount": "60.00"}],
            },
            format="json",
        ).data["id"]
        client.post(f"/api/v1/sales/{sale_id}/complete/")
        product.refresh_from_db()
        assert product.quantity_on_hand == 1
        refunded = client.post(f"/api/v1/sales/{sale_id}/refund/", {"reason": "changed mind"}, format="json")
        assert refunded.status_code == 200, refunded.data
        assert refunded.data["status"] == "refunded" and refunded.data["amount_paid"] == "0.00"
        product.refresh_from_db()
        assert product.quantity_on_hand == 3
        assert_ledger_consistent(product)
        again = client.post(f"/api/v1/sales/{sale_id}/refund/", {}, format="json")
        assert again.status_code == 409 and "status" in again.data

    def test_selling_spectacles_opens_a_lab_job_and_needs_a_prescription(self, manager) -> None:
        frame = stocked_product(2)
        lens = stocked_product(2, progressive_lens=True)
        staff = manager
        walk_in = services.sale_create(staff=staff, lines=[{"product": frame}, {"product": lens}])
        with pytest.raises(ValidationError) as caught:
            services.sale_complete(sale=walk_in, user=staff)
        assert "prescription" in caught.value.message_dict
        rx = SpectaclePrescriptionFactory()
        sale = services.sale_create(staff=staff, patient=rx.patient, lines=[{"product": frame}, {"product": lens}])
        services.sale_complete(sale=sale, user=staff)
        job = LabJob.objects.get(sale=sale)
        assert (job.status, job.frame, job.lens, job.prescription) == (LabJobStatus.ORDERED, frame, lens, rx)
        services.sale_refund(sale=sale, user=staff)
        job.refresh_from_db()
        assert job.status == LabJobStatus.CANCELLED and job.cancelled_at is not None

    def test_void_only_for_drafts(self, manager) -> None:
        product = stocked_product(2)
        staff = manager
        sale = services.sale_create(
            staff=staff, lines=[{"product": product}], payments=[{"method": "cash", "amount": "50"}]
        )
        services.sale_void(sale=sale, user=staff)
        sale.refresh_from_db()
        assert sale.status == SaleStatus.VOIDED and sale.amount_paid == 0
        with pytest.raises(ValidationError):
            services.sale_complete(sale=sale, user=staff)


@pytest.mark.django_db(transaction=True)
def test_two_sales_of_the_last_item_at_once_only_one_wins() -> None:
    product = stocked_product(1)
    staff = UserFactory()
    sales = [services.sale_create(staff=staff, lines=[{"product": product}]) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(sale: Sale) -> None:
        close_old_connections()
        try:
            barrier.wait(timeout=10)
            services.sale_complete(sale=sale, user=staff)
            outcomes.append("completed")
        except ValidationError as exc:
            outcomes.append("refused: " + str(exc.message_dict.get("lines")))
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(sale,)) for sale in sales]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o.split(":")[0] for o in outcomes) == ["completed", "refused"], outcomes
    product.refresh_from_db()
    assert product.quantity_on_hand == 0
    assert_ledger_consistent(product)
    assert Sale.objects.filter(status=SaleStatus.COMPLETED).count() == 1


@pytest.mark.django_db
def test_completed_sale_factory_helper() -> None:
    product = stocked_product(4)
    sale = completed_sale(lines=[(product, 3)], patient=PatientFactory())
    assert sale.status == SaleStatus.COMPLETED
    product.refresh_from_db()
    assert product.quantity_on_hand == 1
