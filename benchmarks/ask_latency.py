"""Time to the first token of an answer, through the threads API's stream and /v1, next to the
model's own time to first token, in one run:

(a) llama-cpp-python directly, in this process, on exactly the prompt the knowledge route sends
    (same GGUF, same load parameters): its first token, and its first sentence that passes the
    grounding gate (the first `token` event of a threads answer is such a sentence);
(b) /v1/chat/completions streaming the same messages: HTTP (uvicorn) -> Celery -> worker ->
    Redis pub/sub -> SSE; the first content chunk;
(c) the threads API streaming the question: the `sources` event (retrieval done, a worker
    started), then the first `token` event; and a data question's first `token` (no model).

    .venv/bin/python benchmarks/ask_latency.py [--rounds 3]

Runs on a private embedded PostgreSQL + Valkey (the test settings); the model is the default
Gemma 3 270M Q4_K_M registered as a derived version, so that it answers in its own words.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.test")

ARTICLE = (
    "---\ntitle: Anti-reflective coatings\ncategory: coatings-tints\n---\n# Anti-reflective coatings\n\n"
    "An anti-reflective coating is a stack of thin layers on the lens surface. It reduces the light reflected "
    "by the lens, so more light passes through to the eye and fewer distracting reflections are seen. "
    "A plain lens reflects about 8% of the light; a good coating reduces this to under 1%. "
    "Clean a coated lens with lukewarm water and a microfibre cloth: grit and hot water damage the coating."
)
QUESTIONS = [
    "What does an anti-reflective coating do?",
    "How much light does a plain lens reflect?",
    "Why would I want an anti-reflective coating?",
    "How should I clean a coated lens?",
    "What is an anti-reflective coating made of?",
]
MAX_TOKENS = 160


def read_sse(response):  # type: ignore[no-untyped-def]
    """(event name, data) per server-sent event, as each arrives."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            yield name, data
            name, data = "message", ""


def threads_run(base, headers, url, question):  # type: ignore[no-untyped-def]
    import httpx

    started = time.perf_counter()
    first_event = first_token = 0.0
    body = {"content": question, "stream": True, "max_tokens": MAX_TOKENS}
    with httpx.stream("POST", url, json=body, headers=headers, timeout=300) as response:
        response.raise_for_status()
        for name, _ in read_sse(response):
            now = time.perf_counter() - started
            first_event = first_event or now
            if name == "token" and not first_token:
                first_token = now
    return first_event, first_token


def v1_run(base, headers, messages):  # type: ignore[no-untyped-def]
    import json

    import httpx

    body = {"model": "optiq", "messages": messages, "max_tokens": MAX_TOKENS, "temperature": 0.2, "stream": True}
    started = time.perf_counter()
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=300) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[6:])
                if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    return time.perf_counter() - started
    return float("nan")


def direct_run(llm, tokens, stop, reference):  # type: ignore[no-untyped-def]
    from assistant.chat.grounding import SentenceGate

    gate = SentenceGate(reference)
    started = time.perf_counter()
    first_token = first_sentence = 0.0
    for chunk in llm.create_completion(
        prompt=tokens, max_tokens=MAX_TOKENS, temperature=0.2, top_p=0.95, stop=stop, stream=True
    ):
        text = chunk["choices"][0]["text"]
        if text and not first_token:
            first_token = time.perf_counter() - started
        if gate.feed(text) and not first_sentence:
            first_sentence = time.perf_counter() - started
            break
    return first_token, first_sentence or float("nan")


def gemma_tokens(llm, messages):  # type: ignore[no-untyped-def]
    from assistant.llm.chat_formats import render

    return llm.tokenize(render("gemma", messages, add_generation_prompt=True).encode(), add_bos=True, special=True)


def start_process(command, env, ready):  # type: ignore[no-untyped-def]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{command[2]} did not start")
        time.sleep(0.2)
    return process


def stop(process):  # type: ignore[no-untyped-def]
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()

    import django

    django.setup()
    import httpx
    from assistant.llm.chat_formats import END_OF_TURN
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from accounts.services import api_key_create
    from assistant.chat.knowledge_answers import KNOWLEDGE_CHUNKS, KNOWLEDGE_STOP, knowledge_prompt
    from assistant.knowledge.retrieval import knowledge_search
    from assistant.knowledge.services import knowledge_document_ingest
    from assistant.llm import streams
    from assistant.llm.runtime import load_llama
    from assistant.registry.services import default_model_register, model_version_register
    from practice.models import Product
    from tests.conftest import free_port

    call_command("migrate", verbosity=0)
    base_version, _ = default_model_register()
    version = model_version_register(
        name="gemma-derived-bench", path=base_version.path, chat_format="gemma", base=base_version, activate=True
    )
    knowledge_document_ingest(content=ARTICLE, slug="anti-reflective-coatings-bench", embed="now")
    Product.objects.get_or_create(
        sku="FR-BENCH-1",
        defaults={"category": "frame", "brand": "OptiQ", "model": "Bench", "price": 99, "reorder_level": 2},
    )
    user, _ = User.objects.get_or_create(username="bench-ask")
    user.groups.add(Group.objects.get(name="manager"))
    _, key = api_key_create(user=user, name="bench-ask")
    headers = {"Authorization": f"Bearer {key}"}

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "optiq_site.settings.test",
        "OPTIQ_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    conn = streams.connection()
    conn.delete(streams.WORKERS_KEY, streams.LOADED_KEY, streams.BUSY_KEY)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def web_ready() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    web = start_process(
        [sys.executable, "-m", "uvicorn", "optiq_site.asgi:application", "--port", str(port), "--log-level", "warning"],
        env,
        web_ready,
    )
    worker_command = [sys.executable, "-m", "celery", "-A", "optiq_site", "worker", "-Q", "inference", "-c", "1"]
    worker_command += ["-n", "bench-ask@%h", "--without-mingle", "--without-gossip", "-l", "WARNING"]
    worker = start_process(worker_command, env, lambda: bool(conn.hlen(streams.LOADED_KEY)))

    load_before = os.getloadavg()[0]
    llm = load_llama(model_path=version.path, n_ctx=version.n_ctx, n_gpu_layers=0, n_threads=None, verbose=False)
    figures: dict[str, list[float]] = {
        k: [] for k in ("direct_token", "direct_sentence", "retrieval", "v1", "sources", "token", "data")
    }
    try:
        thread = httpx.post(f"{base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30).json()
        url = f"{base}/api/v1/assistant/threads/{thread['id']}/messages/"
        threads_run(base, headers, url, "warm up: what is a coating?")
        for _ in range(args.rounds):
            for question in QUESTIONS:
                started = time.perf_counter()
                chunks = knowledge_search(query=question, limit=KNOWLEDGE_CHUNKS)
                figures["retrieval"].append(time.perf_counter() - started)
                reference = "\n".join(f"{c.title}\n{c.heading}\n{c.text}" for c in chunks)
                stops = [END_OF_TURN["gemma"], *KNOWLEDGE_STOP]
                # The threads question is reworded, so that the worker's prompt cache helps it no more
                # than /v1; the direct baseline of each path runs that path's own prompt.
                reworded = "Tell me briefly: " + question.lower()
                messages = knowledge_prompt(question, chunks)
                figures["direct_token"].append(direct_run(llm, gemma_tokens(llm, messages), stops, reference)[0])
                figures["v1"].append(v1_run(base, headers, messages))
                own_prompt = gemma_tokens(llm, knowledge_prompt(reworded, chunks))
                figures["direct_sentence"].append(direct_run(llm, own_prompt, stops, reference)[1])
                first_event, first_token = threads_run(base, headers, url, reworded)
                figures["sources"].append(first_event)
                figures["token"].append(first_token)
                figures["data"].append(threads_run(base, headers, url, "Which frames are low on stock?")[1])
    finally:
        stop(worker)
        stop(web)

    section = results_section(figures, args, load=(load_before, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from harness import write_section

        write_section("ask_latency", section)


def results_section(figures: dict[str, list[float]], args: argparse.Namespace, *, load: tuple[float, float]) -> str:
    def ms(key: str) -> str:
        values = [v for v in figures[key] if v == v]  # without NaN: no sentence passed the gate
        return f"{statistics.median(values) * 1000:.0f}" if values else "-"

    n = len(figures["v1"])
    return (
        "\n".join(
            [
                "## Asking: time to the first token through the threads API and /v1, against the model's own",
                "",
                f"`python benchmarks/ask_latency.py --rounds {args.rounds}` — Gemma 3 270M Q4_K_M registered as a "
                f"derived version (it answers in its own words), {len(QUESTIONS)} optics questions × {args.rounds} "
                f"rounds ({n} per path), max_tokens {MAX_TOKENS}, temperature 0.2, one inference worker, "
                f"{os.cpu_count()} CPU cores shared by the web server, the worker and this client; medians, "
                "from the request to the event. Direct: `Llama.create_completion` on exactly the prompt the "
                "knowledge route builds for that path's question, in this process, same GGUF and load parameters. "
                "Every path sees a prompt new to its own prompt cache (the threads question is reworded), after "
                "the same shared prefix.",
                "",
                "| what | first token (median ms) |",
                "| --- | ---: |",
                f"| llama-cpp-python direct, the /v1 prompt: first token | {ms('direct_token')} |",
                f"| llama-cpp-python direct, the threads prompt: first sentence the gate lets through | "
                f"{ms('direct_sentence')} |",
                f"| retrieval alone (`knowledge_search`, in-process) | {ms('retrieval')} |",
                f"| /v1/chat/completions stream, same messages: first content chunk | {ms('v1')} |",
                f"| threads API stream: `sources` (retrieval done, a worker started) | {ms('sources')} |",
                f"| threads API stream: first `token` (the first gated sentence) | {ms('token')} |",
                f"| threads API stream, a data question (no model): its `token` | {ms('data')} |",
                "",
                "The first `token` of a threads answer is a whole sentence that passed the grounding gate, so "
                "its natural baseline is the direct first gated sentence plus retrieval; the /v1 first chunk "
                "is one token, against the direct first token. The machine's 1-minute load average was "
                f"{load[0]:.1f} at the start and {load[1]:.1f} at the end (other work shares these cores), "
                "so the absolute figures are slow; compare the rows of one run.",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
