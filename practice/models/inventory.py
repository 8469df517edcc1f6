from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from .choices import LENS_INDEXES, Category, Coating, LensMaterial, LensType, MovementKind

__all__ = ["Product", "StockMovement"]

LENS_INDEX_CHOICES = [(index, f"{index}") for index in LENS_INDEXES]


class Product(models.Model):
    """Something the practice sells. ``quantity_on_hand`` is derived from the stock ledger
    (StockMovement) and only the stock services change it, under a row lock."""

    category = models.CharField(max_length=20, choices=Category.choices, db_index=True)
    sku = models.CharField("SKU", max_length=40, unique=True)
    brand = models.CharField(max_length=80)
    model = models.CharField(max_length=120)
    colour = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True, help_text="Shown to staff and used by the assistant's search.")
    frame_eye_size = models.PositiveSmallIntegerField("eye size (mm)", null=True, blank=True)
    frame_bridge = models.PositiveSmallIntegerField("bridge (mm)", null=True, blank=True)
    frame_temple = models.PositiveSmallIntegerField("temple (mm)", null=True, blank=True)
    lens_type = models.CharField(max_length=20, choices=LensType.choices, blank=True, db_index=True)
    lens_material = models.CharField(max_length=20, choices=LensMaterial.choices, blank=True)
    lens_index = models.DecimalField(max_digits=3, decimal_places=2, choices=LENS_INDEX_CHOICES, null=True, blank=True)
    coatings = ArrayField(models.CharField(max_length=20, choices=Coating.choices), default=list, blank=True)
    supplier = models.CharField(max_length=100, blank=True)
    cost_price = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    price = models.DecimalField(
        "retail price (inc. VAT)", max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    tax_rate = models.DecimalField(
        "VAT rate (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    reorder_level = models.PositiveIntegerField(default=0)
    quantity_on_hand = models.IntegerField(default=0, editable=False)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "brand", "model", "id"]
        permissions = [
            ("view_cost_price", "Can see cost prices and margins"),
            ("view_reports", "Can see sales and stock reports"),
            ("receive_stock", "Can receive, adjust and write off stock"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity_on_hand__gte=0), name="product_stock_not_negative"),
        ]
        indexes = [
            models.Index(fields=["brand", "model"], name="product_brand_model"),
            models.Index(
                fields=["category"],
                name="product_low_stock",
                condition=models.Q(is_active=True, quantity_on_hand__lte=models.F("reorder_level")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.brand} {self.model}" + (f" {self.colour}" if self.colour else "")

    @property
    def frame_size(self) -> str:
        """Boxing-system size as written on the temple: ``52-18-140`` (eye-bridge-temple)."""
        if self.frame_eye_size and self.frame_bridge and self.frame_temple:
            return f"{self.frame_eye_size}-{self.frame_bridge}-{self.frame_temple}"
        return ""

    @property
    def is_low_stock(self) -> bool:
        return self.quantity_on_hand <= self.reorder_level

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        size = [self.frame_eye_size, self.frame_bridge, self.frame_temple]
        if self.category == Category.FRAME:
            if any(size) and not all(size):
                errors.setdefault("frame_eye_size", []).append(
                    "A frame size needs eye, bridge and temple (e.g. 52-18-140)."
                )
            for field, value, low, high in (
                ("frame_eye_size", self.frame_eye_size, 30, 70),
                ("frame_bridge", self.frame_bridge, 10, 30),
                ("frame_temple", self.frame_temple, 100, 160),
            ):
                if value is not None and not low <= value <= high:
                    errors.setdefault(field, []).append(f"Must be between {low} and {high} mm (got {value}).")
        elif any(size):
            errors.setdefault("frame_eye_size", []).append("Only frames have a frame size.")
        if self.category == Category.SPECTACLE_LENS:
            if not self.lens_type:
                errors.setdefault("lens_type", []).append("A spectacle lens needs a lens type.")
        else:
            for field in ("lens_type", "lens_material", "lens_index"):
                if getattr(self, field):
                    errors.setdefault(field, []).append("Only spectacle lenses have a lens type, material or index.")
        if self.lens_index is not None and Decimal(self.lens_index) not in LENS_INDEXES:
            errors.setdefault("lens_index", []).append(
                f"Lens index must be one of {', '.join(str(i) for i in LENS_INDEXES)}."
            )
        unknown = [c for c in self.coatings or [] if c not in Coating.values]
        if unknown:
            errors.setdefault("coatings", []).append(f"Unknown coating(s): {', '.join(unknown)}.")
        if self.tax_rate is not None and self.tax_rate > 100:
            errors.setdefault("tax_rate", []).append("VAT rate is a percentage from 0 to 100.")
        if errors:
            raise ValidationError(errors)


class StockMovement(models.Model):
    """One line of the stock ledger. ``quantity`` is signed: receipts and returns add, sales and
    write-offs take away, adjustments go either way. Never edited: a correction is a new movement."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_movements")
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    quantity = models.IntegerField()
    balance_after = models.IntegerField(help_text="Quantity on hand after this movement.")
    sale_line = models.ForeignKey(
        "practice.SaleLine", on_delete=models.PROTECT, null=True, blank=True, related_name="stock_movements"
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(quantity=0), name="stock_movement_not_zero"),
        ]
        indexes = [models.Index(fields=["product", "created_at"], name="stockmovement_product_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} {self.product.sku}"
