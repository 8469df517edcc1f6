"""The stock ledger. ``Product.quantity_on_hand`` always equals the sum of the product's
movements: both change together, in one transaction, with the product row locked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from optiq_site.service_errors import StateConflict
from practice.models import MovementKind, Product, SaleLine, StockMovement

# The largest count the quantity columns hold (PostgreSQL integer).
MAX_STOCK = 2**31 - 1


def locked_products(product_ids: Any) -> dict[int, Product]:
    """Lock products in primary-key order (every writer does, so two never deadlock)."""
    ids = sorted(set(product_ids))
    return {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def stock_move(
    *,
    product: Product,
    kind: str,
    quantity: int,
    user: Any = None,
    sale_line: SaleLine | None = None,
    note: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """Append a movement to a product the caller has locked, and update its quantity."""
    new_quantity = product.quantity_on_hand + quantity
    if new_quantity > MAX_STOCK:
        raise StateConflict(
            {"quantity": [f"{product.sku} would hold {new_quantity} units; a stock count stops at {MAX_STOCK}."]}
        )
    if new_quantity < 0:
        raise StateConflict(
            {
                "quantity": [
                    f"Not enough stock of {product.sku}: {product.quantity_on_hand} on hand, {-quantity} needed."
                ]
            }
        )
    product.quantity_on_hand = new_quantity
    Product.objects.filter(pk=product.pk).update(quantity_on_hand=new_quantity)
    return StockMovement.objects.create(
        product=product,
        kind=kind,
        quantity=quantity,
        balance_after=new_quantity,
        sale_line=sale_line,
        note=note[:200],
        created_by=user if getattr(user, "is_authenticated", False) else None,
        created_at=at or timezone.now(),
    )


def _whole(quantity: Any, *, positive: bool) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError({"quantity": ["Quantity must be a whole number."]})
    if positive and quantity < 1:
        raise ValidationError({"quantity": [f"Quantity must be at least 1 (got {quantity})."]})
    if not positive and quantity == 0:
        raise ValidationError({"quantity": ["An adjustment must change the quantity (got 0)."]})
    return quantity


def _move_one(*, product: Product, kind: str, quantity: int, user: Any, note: str) -> StockMovement:
    """Lock one product, move its stock, and bring the caller's instance up to date."""
    locked = locked_products([product.pk])[product.pk]
    movement = stock_move(product=locked, kind=kind, quantity=quantity, user=user, note=note)
    product.quantity_on_hand = locked.quantity_on_hand
    return movement


@transaction.atomic
def stock_receive(*, product: Product, quantity: int, user: Any = None, note: str = "") -> StockMovement:
    """Goods in from a supplier."""
    quantity = _whole(quantity, positive=True)
    return _move_one(product=product, kind=MovementKind.RECEIPT, quantity=quantity, user=user, note=note)


@transaction.atomic
def stock_adjust(*, product: Product, quantity: int, user: Any = None, note: str = "") -> StockMovement:
    """A stock-take correction, signed (+3 found, -2 missing); the result may not go below zero."""
    quantity = _whole(quantity, positive=False)
    if not note.strip():
        raise ValidationError({"note": ["An adjustment needs a reason."]})
    return _move_one(product=product, kind=MovementKind.ADJUSTMENT, quantity=quantity, user=user, note=note)


@transaction.atomic
def stock_write_off(*, product: Product, quantity: int, user: Any = None, note: str = "") -> StockMovement:
    """Damaged, expired or lost stock taken off the books."""
    quantity = _whole(quantity, positive=True)
    return _move_one(product=product, kind=MovementKind.WRITE_OFF, quantity=-quantity, user=user, note=note)


@transaction.atomic
def stock_recompute() -> int:
    """Set every product's quantity from its ledger (after bulk loads); returns rows changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE practice_product p SET quantity_on_hand = COALESCE(m.total, 0)
            FROM practice_product p2
            LEFT JOIN (SELECT product_id, SUM(quantity) AS total FROM practice_stockmovement GROUP BY product_id) m
                ON m.product_id = p2.id
            WHERE p.id = p2.id AND p.quantity_on_hand IS DISTINCT FROM COALESCE(m.total, 0)
            """
        )
        return cursor.rowcount
