"""Factories for the practice's models. Stock arrives through the ledger (``give_stock``) so a
product's quantity always matches its movements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from practice import services
from practice.models import (
    Category,
    ContactLensPrescription,
    ContactLensReplacement,
    LensType,
    Patient,
    Product,
    Recall,
    RecallKind,
    Sale,
    SpectaclePrescription,
)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=8, maximum_age=90)
    email = factory.LazyAttribute(lambda p: f"{p.first_name}.{p.last_name}@example.com".lower())
    phone = factory.Sequence(lambda n: f"07700 9{n % 100000:05d}")


class SpectaclePrescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpectaclePrescription

    patient = factory.SubFactory(PatientFactory)
    issue_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    expiry_date = factory.LazyAttribute(lambda rx: rx.issue_date + dt.timedelta(days=730))
    right_sphere = Decimal("-2.25")
    right_cylinder = Decimal("-0.75")
    right_axis = 180
    right_add = Decimal("2.00")
    left_sphere = Decimal("-2.00")
    left_cylinder = Decimal("-0.50")
    left_axis = 170
    left_add = Decimal("2.00")
    binocular_pd = Decimal("63.0")


class ContactLensPrescriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactLensPrescription

    patient = factory.SubFactory(PatientFactory)
    issue_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    expiry_date = factory.LazyAttribute(lambda rx: rx.issue_date + dt.timedelta(days=365))
    brand = "Acuvue Oasys"
    material = "senofilcon A"
    replacement = ContactLensReplacement.TWO_WEEKLY
    right_base_curve = Decimal("8.40")
    right_diameter = Decimal("14.00")
    right_power = Decimal("-2.25")
    left_base_curve = Decimal("8.40")
    left_diameter = Decimal("14.00")
    left_power = Decimal("-2.00")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = Category.FRAME
    sku = factory.Sequence(lambda n: f"TEST-{n:05d}")
    brand = "Ray-Ban"
    model = factory.Sequence(lambda n: f"RB{5000 + n}")
    colour = "Black"
    frame_eye_size = factory.LazyAttribute(lambda p: 52 if p.category == Category.FRAME else None)
    frame_bridge = factory.LazyAttribute(lambda p: 18 if p.category == Category.FRAME else None)
    frame_temple = factory.LazyAttribute(lambda p: 140 if p.category == Category.FRAME else None)
    lens_type = factory.LazyAttribute(lambda p: LensType.SINGLE_VISION if p.category == Category.SPECTACLE_LENS else "")
    cost_price = Decimal("40.00")
    price = Decimal("120.00")
    tax_rate = Decimal("20.00")
    reorder_level = 2

    class Params:
        progressive_lens = factory.Trait(
            category=Category.SPECTACLE_LENS,
            lens_type=LensType.PROGRESSIVE,
            brand="Varilux",
            model="Comfort Max 1.6",
            lens_index=Decimal("1.60"),
            lens_material="high_index",
            price=Decimal("395.00"),
            cost_price=Decimal("110.00"),
            colour="",
        )


def give_stock(product: Product, quantity: int, user: Any = None) -> Product:
    """Receive ``quantity`` units through the ledger."""
    services.stock_receive(product=product, quantity=quantity, user=user, note="test stock")
    product.refresh_from_db()
    return product


def stocked_product(quantity: int = 10, **kwargs: Any) -> Product:
    return give_stock(ProductFactory(**kwargs), quantity)


class SaleFactory(factory.django.DjangoModelFactory):
    """A draft sale; add lines with services.sale_line_add or use ``completed_sale``."""

    class Meta:
        model = Sale

    reference = factory.Sequence(lambda n: f"S-TEST-{n:06d}")
    staff = factory.SubFactory("tests.factories.UserFactory")
    patient = factory.SubFactory(PatientFactory)
    created_at = factory.LazyFunction(timezone.now)


def completed_sale(
    *,
    lines: list[tuple[Product, int]],
    staff: Any = None,
    patient: Any = None,
    at: Any = None,
    discount: Decimal = Decimal("0"),
) -> Sale:
    from tests.factories import UserFactory

    staff = staff or UserFactory()
    sale = services.sale_create(
        staff=staff,
        patient=patient,
        lines=[{"product": p, "quantity": q, "discount": discount} for p, q in lines],
        at=at,
    )
    return services.sale_complete(sale=sale, user=staff, at=at)


class RecallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recall

    patient = factory.SubFactory(PatientFactory)
    kind = RecallKind.EYE_EXAM
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=10))


def user_in_role(role: str, **kwargs: Any) -> Any:
    """A staff user in one of practice.roles' groups (the groups come from the migrations)."""
    from tests.factories import UserFactory

    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user
