"""Choice lists shared by models, services, selectors and the API (their values are part of the
assistant's tool interface: keep them stable)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

__all__ = [
    "LENS_INDEXES",
    "Category",
    "Coating",
    "ContactLensReplacement",
    "Eye",
    "LabJobStatus",
    "LensMaterial",
    "LensType",
    "MovementKind",
    "PaymentMethod",
    "PrismBase",
    "RecallKind",
    "RecallStatus",
    "SaleStatus",
]


class Category(models.TextChoices):
    FRAME = "frame", "Frame"
    SPECTACLE_LENS = "spectacle_lens", "Spectacle lens"
    CONTACT_LENS = "contact_lens", "Contact lens"
    ACCESSORY = "accessory", "Accessory"
    SOLUTION = "solution", "Solution"


class LensType(models.TextChoices):
    SINGLE_VISION = "single_vision", "Single vision"
    BIFOCAL = "bifocal", "Bifocal"
    PROGRESSIVE = "progressive", "Progressive"
    OCCUPATIONAL = "occupational", "Occupational"


class LensMaterial(models.TextChoices):
    CR39 = "cr39", "CR-39 (hard resin)"
    TRIVEX = "trivex", "Trivex"
    POLYCARBONATE = "polycarbonate", "Polycarbonate"
    HIGH_INDEX = "high_index", "High-index resin"
    GLASS = "glass", "Glass"


LENS_INDEXES = [Decimal("1.50"), Decimal("1.53"), Decimal("1.59"), Decimal("1.60"), Decimal("1.67"), Decimal("1.74")]


class Coating(models.TextChoices):
    ANTI_REFLECTIVE = "anti_reflective", "Anti-reflective"
    BLUE_FILTER = "blue_filter", "Blue filter"
    PHOTOCHROMIC = "photochromic", "Photochromic"
    HARD_COAT = "hard_coat", "Hard coat"
    UV = "uv", "UV protection"


class Eye(models.TextChoices):
    RIGHT = "right", "Right (OD)"
    LEFT = "left", "Left (OS)"


class PrismBase(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"
    IN = "in", "In"
    OUT = "out", "Out"


class ContactLensReplacement(models.TextChoices):
    DAILY = "daily", "Daily disposable"
    TWO_WEEKLY = "two_weekly", "Two-weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly (conventional)"


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SALE = "sale", "Sale"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Adjustment"
    WRITE_OFF = "write_off", "Write-off"


class SaleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    NHS_VOUCHER = "nhs_voucher", "NHS optical voucher"
    GIFT_VOUCHER = "gift_voucher", "Gift voucher"


class LabJobStatus(models.TextChoices):
    ORDERED = "ordered", "Ordered"
    AT_LAB = "at_lab", "At lab"
    READY = "ready", "Ready for collection"
    COLLECTED = "collected", "Collected"
    CANCELLED = "cancelled", "Cancelled"
    REMAKE = "remake", "Remake"


class RecallKind(models.TextChoices):
    EYE_EXAM = "eye_exam", "Eye examination"
    CL_AFTERCARE = "cl_aftercare", "Contact lens aftercare"


class RecallStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    BOOKED = "booked", "Booked"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
