from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from assistant.eval.data import data_exactness, data_questions


@pytest.fixture
def sales(db):
    """Completed sale lines written straight to the tables (the eval's truth reads them with SQL)."""
    from practice.models import Product

    staff = get_user_model().objects.create(username="till")
    lens = Product.objects.create(
        category="spectacle_lens",
        sku="SL-PAL-1",
        brand="Varilux",
        model="Comfort",
        lens_type="progressive",
        price=Decimal("250.00"),
        reorder_level=2,
    )
    frame = Product.objects.create(category="frame", sku="FR-1", brand="Ray-Ban", model="RB1", price=Decimal("120.00"))
    with connection.cursor() as cursor:
        for n, (day, product, quantity) in enumerate(
            [(date(2026, 4, 3), lens, 2), (date(2026, 4, 20), frame, 1), (date(2026, 3, 9), lens, 1)]
        ):
            when = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("Europe/London"))
            cursor.execute(
                "INSERT INTO practice_sale (reference, staff_id, status, created_at, completed_at, sale_date, subtotal, "
                "discount_total, total, tax_total, amount_paid, notes) VALUES (%s, %s, 'completed', %s, %s, %s, 0, 0, 0, 0, 0, '') RETURNING id",
                [f"S{n}", staff.pk, when, when, day],
            )
            sale_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO practice_saleline (sale_id, product_id, quantity, unit_price, discount, line_total, tax_rate, category, lens_type) "
                "VALUES (%s, %s, %s, %s, 0, %s, 20, %s, %s)",
                [
                    sale_id,
                    product.pk,
                    quantity,
                    product.price,
                    product.price * quantity,
                    product.category,
                    product.lens_type,
                ],
            )
    from practice.services.summary import sales_summary_rebuild

    sales_summary_rebuild()


def test_the_shipped_data_questions_number_at_least_40():
    assert len(data_questions()) >= 40


def test_every_data_answer_matches_the_independent_sql(sales):
    user = get_user_model()(username="eval", is_superuser=True, is_active=True)
    report = data_exactness(user=user, today=date(2026, 5, 20))
    assert report.exactness == 1.0, report.failures
