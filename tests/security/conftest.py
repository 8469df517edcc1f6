"""The practice's staff fixtures (a user per role, logged-in clients) for the security tests."""

from tests.practice.conftest import admin_as, api_as, clinician, manager, reception  # noqa: F401
