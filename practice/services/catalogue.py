from __future__ import annotations

from typing import Any

from django.db import transaction

from practice.models import Product

from .records import record_save

# The catalogue fields staff write, in the order the API shows them; stock is the ledger's.
PRODUCT_FIELDS = (
    "category",
    "sku",
    "brand",
    "model",
    "colour",
    "description",
    "frame_eye_size",
    "frame_bridge",
    "frame_temple",
    "lens_type",
    "lens_material",
    "lens_index",
    "coatings",
    "supplier",
    "cost_price",
    "price",
    "tax_rate",
    "reorder_level",
    "is_active",
)


@transaction.atomic
def product_create(**fields: Any) -> Product:
    """A new product with no stock (stock arrives through stock_receive)."""
    return record_save(record=Product(), fields=fields, writable=PRODUCT_FIELDS)


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    """Change catalogue fields; stock is changed only by the stock services."""
    return record_save(record=product, fields=fields, writable=PRODUCT_FIELDS)
