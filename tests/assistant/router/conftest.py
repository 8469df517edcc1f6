"""The router's tests read the demo practice the data-question evaluation is built on."""

from tests.assistant.data.conftest import demo, demo_practice  # noqa: F401
