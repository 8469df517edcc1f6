from __future__ import annotations

from typing import Any

from django.db import transaction

from practice.models import Product

PRODUCT_FIELDS = {
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
}


def _assign(product: Product, fields: dict[str, Any]) -> None:
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"Unknown product fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(product, name, value)


@transaction.atomic
def product_create(**fields: Any) -> Product:
    """A new product with no stock (stock arrives through stock_receive)."""
    product = Product()
    _assign(product, fields)
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    """Change catalogue fields; stock is changed only by the stock services."""
    _assign(product, fields)
    product.full_clean()
    product.save()
    return product
