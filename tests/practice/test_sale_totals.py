"""Sale totals and VAT, worked out by the pure functions next to the Sale model (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from practice.models import SaleLine, lab_job_reference, sale_line_total, sale_totals, vat_included

D = Decimal


def line(unit_price: str, quantity: int = 1, discount: str = "0.00", rate: str = "20.00") -> SaleLine:
    """An unsaved line, priced the way the services price one."""
    total = D(unit_price) * quantity - D(discount)
    return SaleLine(
        unit_price=D(unit_price), quantity=quantity, discount=D(discount), line_total=total, tax_rate=D(rate)
    )


@pytest.mark.parametrize(
    ("amount", "rate", "vat"),
    [
        ("120.00", "20.00", "20.00"),  # a sixth of a VAT-inclusive price at the standard rate
        ("21.00", "5.00", "1.00"),  # a twenty-first at the reduced rate
        ("35.00", "0.00", "0.00"),  # zero-rated
        ("0.03", "20.00", "0.01"),  # 0.005 exactly: half a penny rounds up, not to even
        ("0.02", "20.00", "0.00"),  # 0.0033 rounds down
    ],
)
def test_vat_is_the_share_of_a_vat_inclusive_amount_to_the_penny(amount: str, rate: str, vat: str) -> None:
    assert vat_included(amount=D(amount), rate=D(rate)) == D(vat)


def test_a_line_total_is_quantity_times_price_less_the_discount() -> None:
    assert sale_line_total(unit_price=D("12.50"), quantity=3, discount=D("2.50")) == D("35.00")
    assert sale_line_total(unit_price=D("12.50"), quantity=3) == D("37.50")


def test_discounts_come_off_the_total_and_the_vat_follows_what_was_paid() -> None:
    totals = sale_totals([line("150.00", discount="15.00"), line("12.00", quantity=2)])
    assert (totals.subtotal, totals.discount_total, totals.total) == (D("174.00"), D("15.00"), D("159.00"))
    assert totals.tax_total == D("26.50")  # 22.50 inside 135.00 plus 4.00 inside 24.00


def test_vat_is_rounded_line_by_line_and_each_line_keeps_its_rate() -> None:
    # Each 0.03 line holds 0.005 of VAT, rounded up to 0.01 on its own: 0.02 for the two,
    # where rounding the 0.06 total once would give 0.01.
    assert sale_totals([line("0.03"), line("0.03")]).tax_total == D("0.02")
    mixed = [line("120.00"), line("21.00", rate="5.00"), line("35.00", rate="0.00")]
    assert sale_totals(mixed).tax_total == D("21.00")


def test_a_sale_without_lines_is_all_zero() -> None:
    totals = sale_totals([])
    assert (totals.subtotal, totals.discount_total, totals.total, totals.tax_total) == (D("0"),) * 4


def test_lab_jobs_are_named_after_their_sale_and_numbered() -> None:
    assert lab_job_reference(sale_reference="S-260301-7F3A2C", number=1) == "LJ-260301-7F3A2C-1"
    assert lab_job_reference(sale_reference="S-260301-7F3A2C", number=2) == "LJ-260301-7F3A2C-2"
    assert lab_job_reference(sale_reference="DEMO-S000123", number=1) == "LJ-DEMO-S000123-1"
