from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from practice import roles
from tests.practice.factories import user_in_role


@pytest.fixture
def manager(db):  # type: ignore[no-untyped-def]
    return user_in_role(roles.MANAGER, username="manager-t")


@pytest.fixture
def reception(db):  # type: ignore[no-untyped-def]
    return user_in_role(roles.RECEPTION, username="reception-t")


@pytest.fixture
def clinician(db):  # type: ignore[no-untyped-def]
    return user_in_role(roles.CLINICIAN, username="clinician-t")


@pytest.fixture
def api_as() -> Callable[[Any], APIClient]:
    """An APIClient logged in (session) as the given user."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def admin_as() -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
