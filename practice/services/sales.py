"""Sales: drafts, lines, payments, completion (takes stock, opens lab jobs), refunds, voids."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from optiq_site.service_errors import StateConflict
from practice.models import (
    Category,
    LabJobStatus,
    MovementKind,
    Patient,
    Payment,
    PaymentMethod,
    Product,
    Sale,
    SaleLine,
    SaleStatus,
    SpectaclePrescription,
    lab_job_for_pair,
    sale_line_total,
    sale_totals,
)
from practice.roles import GIVE_LARGE_DISCOUNT, OVERRIDE_SALE_PRICE, REFUND_SALE, VOID_SALE

from .lab import lab_job_transition
from .stock import locked_products, stock_move
from .summary import sales_summary_apply

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except Exception as exc:
        raise ValidationError({field: [f"{value!r} is not an amount of money."]}) from exc
    if not amount.is_finite() or amount != amount.quantize(PENNY):
        raise ValidationError({field: ["An amount of money has at most 2 decimal places."]})
    return amount


def _new_reference(prefix: str) -> str:
    return f"{prefix}-{timezone.localdate():%y%m%d}-{secrets.token_hex(3).upper()}"


def _lock_sale(sale: Sale) -> Sale:
    return Sale.objects.select_for_update().get(pk=sale.pk)


_SYNCED = (
    "status",
    "completed_at",
    "sale_date",
    "refunded_at",
    "voided_at",
    "prescription_id",
    "subtotal",
    "discount_total",
    "total",
    "tax_total",
    "amount_paid",
    "notes",
)


def _sync(caller: Sale, fresh: Sale) -> Sale:
    """Bring the caller's instance up to date with the locked copy the service worked on."""
    if caller is not fresh:
        for name in _SYNCED:
            setattr(caller, name, getattr(fresh, name))
    return fresh


def _refresh_totals(sale: Sale) -> None:
    sale_totals(sale.lines.all()).apply(sale)
    sale.amount_paid = sale.payments.aggregate(total=Sum("amount"))["total"] or ZERO
    sale.save(update_fields=["subtotal", "discount_total", "total", "tax_total", "amount_paid"])


def _require_draft(sale: Sale, doing: str) -> None:
    if sale.status != SaleStatus.DRAFT:
        raise StateConflict(
            {
                "status": [
                    f"Only a draft sale can {doing}; sale {sale.reference} is {sale.get_status_display().lower()}."
                ]
            }
        )


def _require_permission(user: Any, permission: str, field: str, message: str) -> None:
    """Refuse a step the user's role may not take; the message names the rule and the permission
    (a PermissionDenied whose argument maps the field to its messages, as a ValidationError would)."""
    if not (user is not None and getattr(user, "is_authenticated", False) and user.has_perm(permission)):
        raise PermissionDenied({field: [f"{message} That needs the permission {permission} (managers by default)."]})


def discount_limit_percent() -> Decimal:
    """The largest discount, as a percentage of a line, that any seller may give
    (settings.OPTIQ_DISCOUNT_LIMIT_PERCENT); above it needs practice.give_large_discount."""
    value = Decimal(str(settings.OPTIQ_DISCOUNT_LIMIT_PERCENT))
    if not 0 <= value <= 100:
        raise ImproperlyConfigured(f"OPTIQ_DISCOUNT_LIMIT_PERCENT must be between 0 and 100 (it is {value}).")
    return value


def _resolve_product(product: Product | int | None, sku: str | None) -> Product:
    if isinstance(product, Product):
        return product
    if product is not None:
        found = Product.objects.filter(pk=product).first()
        if found is None:
            raise ValidationError({"product": [f"Unknown product id {product}."]})
        return found
    if sku:
        found = Product.objects.filter(sku=sku.strip()).first()
        if found is None:
            raise ValidationError({"sku": [f"Unknown SKU {sku!r}."]})
        return found
    raise ValidationError({"product": ["A line needs a product (its id or SKU)."]})


def _add_line(
    sale: Sale,
    *,
    user: Any,
    product: Product | int | None = None,
    sku: str | None = None,
    quantity: Any = 1,
    unit_price: Any = None,
    discount: Any = ZERO,
) -> SaleLine:
    item = _resolve_product(product, sku)
    if not item.is_active:
        raise ValidationError({"product": [f"{item.sku} is no longer sold (inactive)."]})
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError({"quantity": ["Quantity must be a whole number."]})
    if quantity < 1:
        raise ValidationError({"quantity": [f"Quantity must be at least 1 (got {quantity})."]})
    price = item.price if unit_price is None else _money(unit_price, "unit_price")
    if price < 0:
        raise ValidationError({"unit_price": ["Unit price cannot be negative."]})
    off = _money(discount or ZERO, "discount")
    if off < 0:
        raise ValidationError({"discount": ["Discount cannot be negative."]})
    if off > price * quantity:
        raise ValidationError({"discount": [f"Discount £{off} is more than the line's £{price * quantity}."]})
    if price != item.price:
        _require_permission(
            user,
            OVERRIDE_SALE_PRICE,
            "unit_price",
            f"{item.sku} sells at £{item.price}; a line at £{price} is a price override.",
        )
    limit = discount_limit_percent()
    if off * 100 > limit * price * quantity:
        _require_permission(
            user,
            GIVE_LARGE_DISCOUNT,
            "discount",
            f"A discount of £{off} is more than {limit.normalize():f}% of the line's £{price * quantity} "
            "(OPTIQ_DISCOUNT_LIMIT_PERCENT).",
        )
    return SaleLine.objects.create(
        sale=sale,
        product=item,
        quantity=quantity,
        unit_price=price,
        discount=off,
        line_total=sale_line_total(unit_price=price, quantity=quantity, discount=off),
        tax_rate=item.tax_rate,
        category=item.category,
        lens_type=item.lens_type,
    )


@transaction.atomic
def sale_create(
    *,
    staff: Any,
    patient: Patient | None = None,
    prescription: SpectaclePrescription | None = None,
    lines: Iterable[dict[str, Any]] = (),
    payments: Iterable[dict[str, Any]] = (),
    notes: str = "",
    at: datetime | None = None,
) -> Sale:
    """A draft sale with its lines (each ``{"product" or "sku", "quantity", "unit_price"?,
    "discount"?}``; the price defaults to the product's) and any payments taken up front.
    ``staff`` sells it: a price other than the product's or a discount above the limit needs
    their permission. The prescription must be the patient's own."""
    sale = Sale(
        reference=_new_reference("S"),
        staff=staff,
        patient=patient,
        prescription=prescription,
        notes=notes,
        created_at=at or timezone.now(),
    )
    sale.clean()
    sale.save(force_insert=True)
    for index, line in enumerate(lines):
        try:
            _add_line(sale, user=staff, **line)
        except ValidationError as exc:
            raise ValidationError({"lines": [f"Line {index + 1}: {m}" for m in _messages(exc)]}) from exc
        except PermissionDenied as exc:
            raise PermissionDenied({"lines": [f"Line {index + 1}: {m}" for m in _denied_messages(exc)]}) from exc
        except TypeError as exc:
            raise ValidationError({"lines": [f"Line {index + 1}: {exc}"]}) from exc
    _refresh_totals(sale)
    for payment in payments:
        sale_payment_add(sale=sale, user=staff, **payment)
    return sale


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, errors in exc.message_dict.items() for message in errors]
    return list(exc.messages)


def _denied_messages(exc: PermissionDenied) -> list[str]:
    reason = exc.args[0] if exc.args else "Not permitted."
    if isinstance(reason, dict):
        return [f"{field}: {message}" for field, errors in reason.items() for message in errors]
    return [str(reason)]


@transaction.atomic
def sale_update(*, sale: Sale, patient: Patient | None, prescription: SpectaclePrescription | None, notes: str) -> Sale:
    """Change who a draft sale is for and the prescription its lenses are made to (the patient's
    own), or the notes of any sale."""
    caller, sale = sale, _lock_sale(sale)
    changes_patient = (patient.pk if patient else None, prescription.pk if prescription else None) != (
        sale.patient_id,
        sale.prescription_id,
    )
    if changes_patient:
        _require_draft(sale, "change its patient or prescription")
    sale.patient, sale.prescription, sale.notes = patient, prescription, notes
    sale.clean()
    sale.save(update_fields=["patient", "prescription", "notes"])
    caller.patient, caller.prescription = sale.patient, sale.prescription
    return _sync(caller, sale)


@transaction.atomic
def sale_line_add(
    *,
    sale: Sale,
    user: Any,
    product: Product | int | None = None,
    sku: str | None = None,
    quantity: Any = 1,
    unit_price: Any = None,
    discount: Any = ZERO,
) -> SaleLine:
    """Add a line to a draft sale. ``user`` adds it: a price other than the product's or a
    discount above the limit needs their permission."""
    locked = _lock_sale(sale)
    _require_draft(locked, "take new lines")
    line = _add_line(
        locked, user=user, product=product, sku=sku, quantity=quantity, unit_price=unit_price, discount=discount
    )
    _refresh_totals(locked)
    _sync(sale, locked)
    return line


@transaction.atomic
def sale_line_remove(*, line: SaleLine) -> None:
    locked = _lock_sale(line.sale)
    _require_draft(locked, "have lines removed")
    line.delete()
    _refresh_totals(locked)
    _sync(line.sale, locked)


@transaction.atomic
def sale_payment_add(*, sale: Sale, method: str, amount: Any, user: Any = None, at: datetime | None = None) -> Payment:
    """Take a payment (a deposit on a draft, or the balance later). It may not exceed the balance due."""
    caller, sale = sale, _lock_sale(sale)
    if sale.status not in (SaleStatus.DRAFT, SaleStatus.COMPLETED):
        raise StateConflict({"status": [f"Sale {sale.reference} is {sale.get_status_display().lower()}: no payments."]})
    if method not in PaymentMethod.values:
        raise ValidationError(
            {"method": [f"Unknown payment method {method!r}; one of {', '.join(PaymentMethod.values)}."]}
        )
    value = _money(amount, "amount")
    if value <= 0:
        raise ValidationError({"amount": ["A payment must be more than £0.00."]})
    if value > sale.balance_due:
        raise StateConflict({"amount": [f"Payment £{value} is more than the balance due £{sale.balance_due}."]})
    payment = Payment.objects.create(
        sale=sale,
        method=method,
        amount=value,
        taken_at=at or timezone.now(),
        taken_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _refresh_totals(sale)
    _sync(caller, sale)
    return payment


@transaction.atomic
def sale_complete(*, sale: Sale, user: Any, at: datetime | None = None) -> Sale:
    """Complete a draft: take the stock of every line (products locked in id order), record the
    movements, add the sale to the report rollup and open a lab job for each pair of spectacle
    lenses. Not enough stock of anything, another patient's prescription or an expired one raises
    a ValidationError and changes nothing."""
    caller, sale = sale, _lock_sale(sale)
    _require_draft(sale, "be completed")
    lines = list(sale.lines.order_by("id"))
    if not lines:
        raise StateConflict({"lines": ["A sale needs at least one line before it can be completed."]})
    now = at or timezone.now()
    # Checked again here: a sale written before the rule, or by another path, must not open a
    # lab job to another patient's prescription.
    sale.clean()
    lens_lines = [line for line in lines if line.category == Category.SPECTACLE_LENS]
    prescription = sale.prescription
    if lens_lines and prescription is None and sale.patient_id is not None:
        prescription = sale.patient.spectacle_prescriptions.order_by("-issue_date", "-id").first()  # type: ignore[union-attr]
    if lens_lines and prescription is None:
        raise ValidationError(
            {"prescription": ["Spectacle lenses are made to a prescription: give the sale a patient with one."]}
        )
    if prescription is not None and prescription.is_expired(timezone.localdate(now)):
        raise ValidationError(
            {
                "prescription": [
                    f"The prescription issued {prescription.issue_date:%d/%m/%Y} expired on "
                    f"{prescription.expiry_date:%d/%m/%Y}: a sale is not completed to an expired prescription; "
                    "record the patient's current prescription first."
                ]
            }
        )

    needed: dict[int, int] = defaultdict(int)
    for line in lines:
        needed[line.product_id] += line.quantity
    products = locked_products(needed)
    short = [
        f"Not enough stock of {products[pk].sku} ({products[pk].brand} {products[pk].model}): "
        f"{products[pk].quantity_on_hand} on hand, {qty} needed."
        for pk, qty in sorted(needed.items())
        if products[pk].quantity_on_hand < qty
    ]
    if short:
        raise StateConflict({"lines": short})

    for line in lines:
        line.product = products[line.product_id]
        stock_move(
            product=products[line.product_id],
            kind=MovementKind.SALE,
            quantity=-line.quantity,
            user=user,
            sale_line=line,
            note=f"Sale {sale.reference}",
            at=now,
        )
    sale.status = SaleStatus.COMPLETED
    sale.completed_at = now
    sale.sale_date = timezone.localdate(now)
    sale.prescription = prescription
    sale.save(update_fields=["status", "completed_at", "sale_date", "prescription"])
    _refresh_totals(sale)
    sales_summary_apply(sale=sale, lines=lines, sign=+1)

    frame_lines = [line for line in lines if line.category == Category.FRAME]
    for index, lens_line in enumerate(lens_lines):
        frame_line = frame_lines[index] if index < len(frame_lines) else None
        assert sale.patient is not None and prescription is not None  # checked above
        lab_job_for_pair(
            sale=sale,
            number=index + 1,
            prescription=prescription,
            lens_line=lens_line,
            frame_line=frame_line,
            ordered_at=now,
        ).save(force_insert=True)
    return _sync(caller, sale)


@transaction.atomic
def sale_refund(*, sale: Sale, user: Any, reason: str = "", at: datetime | None = None) -> Sale:
    """Refund a completed sale in full: its stock comes back, the money goes back by the methods
    it was paid with, open lab jobs are cancelled and it drops out of the reports. Needs
    practice.refund_sale."""
    _require_permission(user, REFUND_SALE, "status", "Refunding a sale gives money back.")
    caller, sale = sale, _lock_sale(sale)
    if sale.status != SaleStatus.COMPLETED:
        raise StateConflict(
            {
                "status": [
                    f"Only a completed sale can be refunded; sale {sale.reference} is {sale.get_status_display().lower()}."
                ]
            }
        )
    lines = list(sale.lines.order_by("id"))
    products = locked_products(line.product_id for line in lines)
    now = at or timezone.now()
    for line in lines:
        stock_move(
            product=products[line.product_id],
            kind=MovementKind.RETURN,
            quantity=line.quantity,
            user=user,
            sale_line=line,
            note=f"Refund of {sale.reference}" + (f": {reason}" if reason else ""),
            at=now,
        )
    _give_money_back(sale, user=user, at=now)
    sales_summary_apply(sale=sale, lines=lines, sign=-1)
    for job in sale.lab_jobs.exclude(status__in=[LabJobStatus.COLLECTED, LabJobStatus.CANCELLED]):
        lab_job_transition(job=job, status=LabJobStatus.CANCELLED, note="Sale refunded", at=now)
    sale.status = SaleStatus.REFUNDED
    sale.refunded_at = now
    if reason:
        sale.notes = (sale.notes + "\n" if sale.notes else "") + f"Refunded: {reason}"
    sale.save(update_fields=["status", "refunded_at", "notes"])
    _refresh_totals(sale)
    return _sync(caller, sale)


def _give_money_back(sale: Sale, *, user: Any, at: datetime) -> None:
    by_method = sale.payments.values("method").annotate(total=Sum("amount"))
    for row in by_method:
        if row["total"] > 0:
            Payment.objects.create(
                sale=sale,
                method=row["method"],
                amount=-row["total"],
                taken_at=at,
                taken_by=user if getattr(user, "is_authenticated", False) else None,
            )


@transaction.atomic
def sale_void(*, sale: Sale, user: Any) -> Sale:
    """Abandon a draft (nothing was taken from stock); any deposit is handed back. Needs
    practice.void_sale."""
    _require_permission(user, VOID_SALE, "status", "Voiding a sale cancels it and hands back any deposit.")
    caller, sale = sale, _lock_sale(sale)
    _require_draft(sale, "be voided")
    now = timezone.now()
    _give_money_back(sale, user=user, at=now)
    sale.status = SaleStatus.VOIDED
    sale.voided_at = now
    sale.save(update_fields=["status", "voided_at"])
    _refresh_totals(sale)
    return _sync(caller, sale)
