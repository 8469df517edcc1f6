from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .choices import Category, LensType, PaymentMethod, SaleStatus
from .inventory import Product
from .patients import Patient
from .prescriptions import SpectaclePrescription

__all__ = [
    "Payment",
    "Sale",
    "SaleLine",
    "SaleTotals",
    "SalesDaySummary",
    "sale_line_total",
    "sale_totals",
    "vat_included",
]

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


def money(verbose_name: str | None = None, **kwargs: Any) -> models.DecimalField:
    """Pounds and pence."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


def sale_line_total(*, unit_price: Decimal, quantity: int, discount: Decimal = ZERO) -> Decimal:
    """What a line costs the customer: quantity × unit price − discount, VAT inclusive."""
    return unit_price * quantity - discount


def vat_included(*, amount: Decimal, rate: Decimal) -> Decimal:
    """The VAT inside a VAT-inclusive ``amount`` at ``rate`` percent (UK retail prices include
    it: £120.00 at 20% holds £20.00), to the penny, halves rounded up."""
    return (amount * rate / (100 + rate)).quantize(PENNY, ROUND_HALF_UP)


@dataclass(frozen=True)
class SaleTotals:
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    tax_total: Decimal

    def apply(self, sale: Sale) -> None:
        sale.subtotal, sale.discount_total, sale.total, sale.tax_total = (
            self.subtotal,
            self.discount_total,
            self.total,
            self.tax_total,
        )


def sale_totals(lines: Iterable[SaleLine]) -> SaleTotals:
    """A sale's figures from its lines alone (saved or not). VAT is worked out line by line,
    each line rounded to the penny, because each line may carry its own rate."""
    lines = list(lines)
    subtotal = sum((line.unit_price * line.quantity for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO)
    tax = sum((vat_included(amount=line.line_total, rate=line.tax_rate) for line in lines), ZERO)
    return SaleTotals(subtotal=subtotal, discount_total=discount, total=subtotal - discount, tax_total=tax)


class Sale(models.Model):
    """A sale. Totals are stored and refreshed by the services whenever lines or payments change.
    Prices are VAT-inclusive (UK retail); ``tax_total`` is the VAT contained in ``total``."""

    reference = models.CharField(max_length=30, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="sales")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prescription = models.ForeignKey(
        SpectaclePrescription,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        help_text="The prescription spectacle lenses are made to (defaults to the patient's latest).",
    )
    status = models.CharField(max_length=10, choices=SaleStatus.choices, default=SaleStatus.DRAFT)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    sale_date = models.DateField(null=True, blank=True, help_text="Completion date in the practice's time zone.")
    refunded_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    subtotal = money(default=Decimal("0.00"))
    discount_total = money(default=Decimal("0.00"))
    total = money(default=Decimal("0.00"))
    tax_total = money("VAT included", default=Decimal("0.00"))
    amount_paid = money(default=Decimal("0.00"))
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "sale_date"], name="sale_status_date"),
            models.Index(fields=["patient", "-created_at"], name="sale_patient_time"),
        ]
        # Money leaving the till or prices off the list: managers by default, not reception.
        permissions = [
            ("refund_sale", "Can refund a completed sale"),
            ("void_sale", "Can void a draft sale"),
            ("override_sale_price", "Can sell at a price other than the product's"),
            ("give_large_discount", "Can give a discount above the practice's discount limit"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()}, £{self.total})"

    def clean(self) -> None:
        # Completing a draft opens a lab job to its prescription in its patient's name. Only a
        # draft can change either, so only a draft is judged (a finished sale's record stands).
        if self.status != SaleStatus.DRAFT or self.prescription_id is None:
            return
        if self.patient_id is None or self.prescription.patient_id != self.patient_id:  # type: ignore[union-attr]
            raise ValidationError(
                {"prescription": ["The prescription must belong to the sale's patient; another patient's is refused."]}
            )

    @property
    def balance_due(self) -> Decimal:
        if self.status in (SaleStatus.REFUNDED, SaleStatus.VOIDED):
            return Decimal("0.00")
        return self.total - self.amount_paid


class SaleLine(models.Model):
    """A product on a sale. Category and lens type are copied from the product when the line is
    added, so reports keep what was sold even if the product is later re-categorised."""

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sale_lines")
    quantity = models.PositiveIntegerField()
    unit_price = money()
    discount = money(default=Decimal("0.00"), help_text="Off the whole line.")
    line_total = money(help_text="quantity × unit price − discount, VAT inclusive.")
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    category = models.CharField(max_length=20, choices=Category.choices)
    lens_type = models.CharField(max_length=20, choices=LensType.choices, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="saleline_quantity_positive"),
            models.CheckConstraint(condition=models.Q(discount__gte=0), name="saleline_discount_not_negative"),
            models.CheckConstraint(condition=models.Q(line_total__gte=0), name="saleline_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product.sku} @ £{self.unit_price}"


class Payment(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    amount = money(help_text="Negative for money given back on a refund.")
    taken_at = models.DateTimeField()
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["taken_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} £{self.amount}"


class SalesDaySummary(models.Model):
    """Completed sales per day and product: the rollup the report selectors read.

    Kept in step with sales by sale_complete / sale_refund (same transaction), rebuilt in bulk by
    sales_summary_rebuild. The four ``sales_*`` counters make "number of distinct sales" exact at
    each grouping level without scanning sale lines: a sale adds 1 to ``sales_product`` for each
    product on it, 1 to ``sales_lens_type`` on the first line of each lens type, 1 to
    ``sales_category`` on the first line of each category and 1 to ``sales_any`` on its first line.
    """

    day = models.DateField()
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=20, choices=Category.choices)
    lens_type = models.CharField(max_length=20, choices=LensType.choices, blank=True)
    units = models.IntegerField(default=0)
    revenue = money(default=Decimal("0.00"))
    sales_product = models.IntegerField(default=0)
    sales_lens_type = models.IntegerField(default=0)
    sales_category = models.IntegerField(default=0)
    sales_any = models.IntegerField(default=0)

    class Meta:
        verbose_name = "sales report"
        verbose_name_plural = "sales reports"
        constraints = [
            models.UniqueConstraint(fields=["day", "product", "category", "lens_type"], name="salesdaysummary_key"),
        ]
        indexes = [
            models.Index(
                fields=["day"],
                name="salesday_day_covering",
                include=["category", "lens_type", "product", "units", "revenue", "sales_any", "sales_category"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.product_id}: {self.units} units, £{self.revenue}"
