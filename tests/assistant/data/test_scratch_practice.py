"""The evaluations build their demo practice in a scratch database: the practice's own
database (here the test database, through the same connection pool) is not touched."""

from __future__ import annotations

from django.db import connection

from assistant.eval.scratch import scratch_demo_practice
from practice.models import Product, Sale
from tests.practice.factories import ProductFactory


def test_the_demo_practice_is_built_in_a_scratch_database_and_the_practices_own_is_untouched(transactional_db):
    ours = ProductFactory(sku="OURS-1")
    practice_database = connection.settings_dict["NAME"]
    with scratch_demo_practice():
        assert connection.settings_dict["NAME"] != practice_database
        assert not Product.objects.filter(sku="OURS-1").exists()
        assert Sale.objects.count() > 100  # the demo year of sales
    assert connection.settings_dict["NAME"] == practice_database
    assert list(Product.objects.values_list("pk", flat=True)) == [ours.pk]
    assert Sale.objects.count() == 0
