"""The demo practice at the evaluation's fixed day, built once per test module.

It is built inside a transaction that is rolled back when the module's tests are done, so every
test of the module reads the same practice and nothing is left behind for other modules. Each
test still runs in its own savepoint (the `db` fixture), so what a test writes is undone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings

from assistant.eval.data import DEMO, FIXED_TODAY


@pytest.fixture(scope="module")
def demo_practice(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from practice.demo.builder import build_demo

    with django_db_blocker.unblock(), override_settings(DATA_DIR=tmp_path_factory.mktemp("demo")):
        with transaction.atomic():
            counts = build_demo(**DEMO, today=FIXED_TODAY)
            # Check the deferred foreign keys of the bulk inserts once, here: left pending, every
            # test's end-of-test constraint check would re-check them all (and undo it with its savepoint).
            connection.check_constraints()
            users = get_user_model().objects.in_bulk(["manager", "reception", "optometrist"], field_name="username")
            yield {"counts": counts, "today": FIXED_TODAY, **users}
            transaction.set_rollback(True)


@pytest.fixture
def demo(demo_practice, db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return demo_practice
