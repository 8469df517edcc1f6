"""Load on the real platform: what `make run` starts (uvicorn, the inference and training workers,
Flower, the embedded PostgreSQL + Valkey, the demo practice), driven by concurrent HTTP clients.

(a) reads: 64 clients, each sending the next request of a mix of read endpoints (patient search,
    low stock, knowledge search, /api/v1/me/, a sales report, a patient's record) as soon as the
    last one is answered, for 60 s: requests/s, p50/p95 latency, every status counted; PostgreSQL
    client connections (pg_stat_activity) before, at the peak and after;
(b) the same 64 readers with 16 clients asking the assistant (data and optics questions through
    the threads API) and 8 clients streaming `/v1/chat/completions`, for 60 s;
(c) baselines in the same run: the read mix with the connection pool off and persistent
    connections (`CONN_MAX_AGE=60`, as before the pool), on a restarted stack; and `/healthz`
    (no database) as the web server's own ceiling.

    .venv/bin/python benchmarks/load.py [--seconds 60] [--readers 64] [--no-write]

The stack runs with OPTIQ_THROTTLE_*=off: the API's rate limits would otherwise turn the
benchmark's one key into 429s and measure the limiter instead of the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

READ_PATHS = [
    "/api/v1/patients/?search=smith",
    "/api/v1/products/low-stock/",
    "/api/v1/assistant/knowledge/search/?q=progressive%20lenses&limit=5",
    "/api/v1/me/",
    "/api/v1/reports/sales-summary/?start=2025-12-01&end=2026-11-30&group_by=month",
    "/api/v1/patients/?search=ann&ordering=last_name",
]
QUESTIONS = [
    "Which frames are low on stock?",
    "What are progressive lenses?",
    "How many sales did we make last month?",
    "What does an anti-reflective coating do?",
]
STREAM_BODY = {
    "model": "optiq",
    "messages": [{"role": "user", "content": "In one sentence: what is a varifocal lens?"}],
    "max_tokens": 24,
    "stream": True,
}


@dataclass
class Tally:
    """What one group of clients saw: a status per request and its latency."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors (no HTTP status)
    retry_after_503: int = 0  # 503s that carry Retry-After: back-pressure, not a fault
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile_ms(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile_ms(0.50), 1),
            "p95_ms": round(self.percentile_ms(0.95), 1),
            "statuses": dict(sorted(self.statuses.items())),
            "errors": dict(self.errors),
            "server_errors": self.server_errors,
            "retry_after_503": self.retry_after_503,
        }


async def _client_loop(client: Any, tally: Tally, deadline: float, send: Any) -> None:
    import httpx

    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await send(client)
        except httpx.HTTPError as exc:
            tally.errors[type(exc).__name__] += 1
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        if response.status_code == 503 and response.headers.get("Retry-After"):
            tally.retry_after_503 += 1


def _reader(paths: list[str], offset: int) -> Any:
    position = offset

    async def send(client: Any) -> Any:
        nonlocal position
        path = paths[position % len(paths)]
        position += 1
        return await client.get(path)

    return send


def _asker(thread_url: str, offset: int) -> Any:
    position = offset

    async def send(client: Any) -> Any:
        nonlocal position
        question = QUESTIONS[position % len(QUESTIONS)]
        position += 1
        return await client.post(thread_url, json={"content": question})

    return send


async def _stream(client: Any) -> Any:
    """One streamed /v1 answer, read to its end; an error event in the stream counts as a 599."""
    import httpx

    async with client.stream("POST", "/v1/chat/completions", json=STREAM_BODY) as response:
        broken = False
        async for line in response.aiter_lines():
            if line.startswith("data: {") and '"error"' in line:
                broken = True
        if broken:
            return httpx.Response(599, request=response.request)
        return response


async def drive(
    base: str,
    *,
    headers: dict[str, str],
    seconds: float,
    readers: int,
    read_paths: list[str] = READ_PATHS,
    askers: int = 0,
    thread_urls: list[str] | None = None,
    streamers: int = 0,
) -> dict[str, Tally]:
    """`readers` clients on the read mix (each starting at a different point of it), `askers`
    on the threads API and `streamers` on streamed /v1 answers, all until `seconds` have passed."""
    import httpx

    groups: dict[str, Tally] = {"reads": Tally()}
    total = readers + askers + streamers
    limits = httpx.Limits(max_connections=total, max_keepalive_connections=total)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:
        deadline = time.monotonic() + seconds
        loops = [_client_loop(client, groups["reads"], deadline, _reader(read_paths, i)) for i in range(readers)]
        if askers:
            groups["questions"] = Tally()
            urls = thread_urls or []
            loops += [_client_loop(client, groups["questions"], deadline, _asker(urls[i], i)) for i in range(askers)]
        if streamers:
            groups["v1 streams"] = Tally()
            loops += [_client_loop(client, groups["v1 streams"], deadline, _stream) for _ in range(streamers)]
        started = time.monotonic()
        await asyncio.gather(*loops)
        took = time.monotonic() - started
    for tally in groups.values():
        tally.seconds = took
    return groups


def database_connections(url: str, *, exclude_own: bool = True, attempts: int = 5) -> int | None:
    """Client connections to the database of `url` on its server, from pg_stat_activity; None
    when the server refused this probe every time ("sorry, too many clients already"): full."""
    import psycopg

    for attempt in range(attempts):
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND backend_type = 'client backend'"
                ).fetchone()
            return int(row[0]) - (1 if exclude_own else 0) if row else 0
        except psycopg.OperationalError:
            if attempt < attempts - 1:
                time.sleep(0.2)
    return None


class ConnectionWatch:
    """The highest client connection count seen while it runs (sampled every 0.2 s), and how many
    samples found the server full (the probe itself refused)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.peak = 0
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            count = database_connections(self.url, attempts=1)
            if count is None:
                self.refused += 1
            else:
                self.peak = max(self.peak, count)
            self._stop.wait(0.2)

    def __enter__(self) -> ConnectionWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def settle(url: str, baseline: int | None, *, timeout: float = 150.0) -> tuple[int | None, float]:
    """Wait for the connection count to fall back to `baseline`: (the count, None if the server is
    still full, and the seconds waited). The pool closes one idle connection per
    OPTIQ_DB_POOL_MAX_IDLE (5 s), so 14 extra take ~70 s; stranded ones never go."""
    started = time.monotonic()
    count = database_connections(url)
    while (count is None or baseline is None or count > baseline) and time.monotonic() - started < timeout:
        time.sleep(0.5)
        count = database_connections(url)
    return count, time.monotonic() - started


def max_connections(url: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
    except psycopg.OperationalError:
        return None
    return int(row[0]) if row else None


# --- The stack: `python -m optiq_site.runner`, as `make run` starts it --------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    base: str
    api_key: str
    database_url: str
    log: Path


def stack_start(data_dir: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 900) -> Stack:
    """Start the runner on free ports with `data_dir` and wait for "OptiQ is running"."""
    from optiq_site.embedded import postgres_url_if_running

    # The caller's OPTIQ_PORT / OPTIQ_FLOWER_PORT where set, as `make run` reads them; free ports otherwise.
    port = int(os.environ.get("OPTIQ_PORT") or _free_port())
    flower_port = int(os.environ.get("OPTIQ_FLOWER_PORT") or _free_port())
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}},
        "OPTIQ_DATA_DIR": str(data_dir),
        "OPTIQ_PORT": str(port),
        "OPTIQ_FLOWER_PORT": str(flower_port),
        "OPTIQ_THROTTLE_USER": "off",
        "OPTIQ_THROTTLE_API_KEY": "off",
        "OPTIQ_THROTTLE_ANONYMOUS": "off",
        "DJANGO_DEBUG": "0",
        **(extra_env or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "runner.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "optiq_site.runner"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while "OptiQ is running" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the runner did not start:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(1)
    except BaseException:  # Ctrl-C included: never leave the stack running
        stack_stop(process)
        raise
    text = log.read_text(errors="replace")
    credentials = data_dir / "demo-credentials.json"  # the runner keeps the demo login and key here
    key = json.loads(credentials.read_text()).get("api_key") if credentials.exists() else None
    url = postgres_url_if_running(data_dir / "pgdata")
    if key is None or url is None:
        stack_stop(process)
        raise RuntimeError(f"no API key or database in the runner's output:\n{text[-4000:]}")
    base = f"http://127.0.0.1:{env['OPTIQ_PORT']}"
    return Stack(process=process, base=base, api_key=str(key), database_url=url, log=log)


def stack_stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops `make run`: the runner stops its processes and the databases."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _connection_figures(
    baseline: int | None, watch: ConnectionWatch, after: int | None, settled_in: float
) -> dict[str, Any]:
    return {
        "before": baseline,
        "peak": watch.peak,
        "refused": watch.refused,
        "after": after,
        "settled_s": round(settled_in, 1),
    }


def read_phase(stack: Stack, *, seconds: float, readers: int, paths: list[str] = READ_PATHS) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    asyncio.run(drive(stack.base, headers=headers, seconds=3, readers=4, read_paths=paths))  # warm-up
    time.sleep(6)  # past the pool's max_idle: the warm-up's extra connections close
    baseline = database_connections(stack.database_url)
    load_before = _load_average()
    with ConnectionWatch(stack.database_url) as watch:
        groups = asyncio.run(drive(stack.base, headers=headers, seconds=seconds, readers=readers, read_paths=paths))
    after, settled_in = settle(stack.database_url, baseline)
    return {
        **groups["reads"].summary(),
        "connections": _connection_figures(baseline, watch, after, settled_in),
        "load": f"{load_before} before, {_load_average()} after",
    }


def mixed_phase(stack: Stack, *, seconds: float, readers: int, askers: int, streamers: int) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {stack.api_key}"}
    thread_urls = []
    for _ in range(askers):
        thread = httpx.post(f"{stack.base}/api/v1/assistant/threads/", json={}, headers=headers, timeout=30)
        thread.raise_for_status()
        thread_urls.append(f"{stack.base}/api/v1/assistant/threads/{thread.json()['id']}/messages/")
    baseline = database_connections(stack.database_url)
    load_before = _load_average()
    with ConnectionWatch(stack.database_url) as watch:
        groups = asyncio.run(
            drive(
                stack.base,
                headers=headers,
                seconds=seconds,
                readers=readers,
                askers=askers,
                thread_urls=thread_urls,
                streamers=streamers,
            )
        )
    after, settled_in = settle(stack.database_url, baseline)
    return {
        "groups": {name: tally.summary() for name, tally in groups.items()},
        "connections": _connection_figures(baseline, watch, after, settled_in),
        "load": f"{load_before} before, {_load_average()} after",
    }


def _row(name: str, figures: dict[str, Any]) -> str:
    statuses = ", ".join(f"{status}: {n}" for status, n in figures["statuses"].items())
    if figures["errors"]:
        statuses += ", " + ", ".join(f"{kind}: {n}" for kind, n in figures["errors"].items())
    return (
        f"| {name} | {figures['requests']} | {figures['per_s']} | {figures['p50_ms']} | {figures['p95_ms']} "
        f"| {figures['server_errors']} | {statuses} |"
    )


def _count(count: int | None) -> str:
    return "full (the probe refused)" if count is None else str(count)


def _connections(figures: dict[str, Any]) -> str:
    c = figures["connections"]
    peak = str(c["peak"])
    if c["refused"]:
        peak += f" and full: {c['refused']} of the 0.2 s probes refused"
    back = (
        f"back in {c['settled_s']} s"
        if c["after"] is not None and c["before"] is not None and c["after"] <= c["before"]
        else f"not back {c['settled_s']} s after the load"
    )
    return f"{_count(c['before'])} / {peak} / {_count(c['after'])} ({back})"


def _phases_note(results: dict[str, Any]) -> str:
    if results["seconds"] >= 60:
        return f"{results['seconds']:.0f} s per phase (the `/healthz` ceiling 20 s)"
    return (
        f"**shortened phases: {results['seconds']:g} s each instead of 60 s** (the `/healthz` ceiling "
        f"{min(results['seconds'], 20):g} s), to fit the time the run had"
    )


def section(results: dict[str, Any], command: str) -> str:
    """benchmarks/RESULTS.md's load section, from one run's figures."""
    reads, mixed, persistent, ceiling = results["pooled"], results["mixed"], results["persistent"], results["ceiling"]
    readers, askers, streamers = results["readers"], results["askers"], results["streamers"]
    groups = mixed["groups"]
    lines = [
        f"## Load: {readers} clients on the read endpoints, assistant questions and /v1 streams alongside",
        "",
        f"`{command}` — written by the script. The stack `make run` starts (`python -m optiq_site.runner` "
        "on a fresh data directory: uvicorn with one web process and a pool of at most "
        f"{results['pool_max']} connections, one inference worker and one training worker (Celery prefork), "
        "Flower, the embedded PostgreSQL + pgvector (max_connections "
        f"{results['max_connections']}) and Valkey, the demo practice and knowledge base), on a machine with "
        f"**{results['cores']} CPU cores** shared by the stack, the load generator and other work (the load "
        "average before and after each phase is in the second table). Each client sends its next request "
        "as soon as the last is answered. Read mix: "
        + ", ".join(f"`{p}`" for p in READ_PATHS)
        + f". Mixed phase: the {readers} readers with {askers} clients asking "
        + "; ".join(f"“{q}”" for q in QUESTIONS)
        + f" (threads API, not streamed) and {streamers} clients streaming `/v1/chat/completions` (the active "
        "model, max_tokens 24). The baseline is the read mix on the same data directory restarted with the "
        "pool off and persistent connections (`OPTIQ_DB_POOL=0`, `OPTIQ_DB_CONN_MAX_AGE=60`), as before the "
        "pool. Latencies over all requests of the group; connections are PostgreSQL client backends "
        "(pg_stat_activity) before / at the peak / after, sampled every 0.2 s by a probe connection of the "
        "script's own, which a full server refuses (counted, not fatal). The API's rate limits are lifted "
        "for the run (`OPTIQ_THROTTLE_USER`, `_API_KEY` and `_ANONYMOUS` set to `off`).",
        "",
        "| Run | Requests | Requests/s | p50 ms | p95 ms | 5xx | Statuses |",
        "|---|---|---|---|---|---|---|",
        _row(f"Reads, {readers} clients, pooled (shipped)", reads),
        _row(f"Reads, {readers} clients, no pool, CONN_MAX_AGE=60 (the baseline, before the pool)", persistent),
        _row(f"`/healthz`, {readers} clients (no database: the web server's ceiling)", ceiling),
        *(_row(f"Mixed: {name}", figures) for name, figures in groups.items()),
        "",
        "| Run | Connections before / peak / after | Load average (1/5/15 min) |",
        "|---|---|---|",
        f"| Reads, pooled | {_connections(reads)} | {reads['load']} |",
        f"| Reads, no pool, CONN_MAX_AGE=60 | {_connections(persistent)} | {persistent['load']} |",
        f"| Mixed, pooled | {_connections(mixed)} | {mixed['load']} |",
        "",
        f"{_phases_note(results)}; measured {results['started']}–{results['when']}. "
        f"5xx: pooled reads {reads['server_errors']}, mixed "
        f"{sum(g['server_errors'] for g in groups.values())}, the persistent-connection baseline "
        f"{persistent['server_errors']}. A 503 with Retry-After is back-pressure, not a fault (inference: no "
        "worker free within OPTIQ_INFERENCE_QUEUE_TIMEOUT; reads: no pooled connection within "
        f"OPTIQ_DB_POOL_TIMEOUT): {groups.get('v1 streams', {}).get('retry_after_503', 0)} of the streams, "
        f"{groups.get('questions', {}).get('retry_after_503', 0)} of the questions and "
        f"{groups.get('reads', {}).get('retry_after_503', 0)} of the mixed phase's reads here. The "
        "baseline's 5xx are the database refusing connections (the server full: the probe is refused "
        "too), answered as `database_unavailable`; its connections after the load are the ones "
        "persistent connections strand, one per executor thread.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--readers", type=int, default=64)
    parser.add_argument("--askers", type=int, default=16)
    parser.add_argument("--streamers", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print the figures only")
    parser.add_argument("--data-dir", type=Path, help="the stack's OPTIQ_DATA_DIR, kept (default: a new one, removed)")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="optiq-load-"))
    results: dict[str, Any] = {
        "readers": args.readers,
        "askers": args.askers,
        "streamers": args.streamers,
        "seconds": args.seconds,
        "cores": os.cpu_count(),
        "pool_max": int(os.environ.get("OPTIQ_DB_POOL_MAX") or 16),
        "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    try:
        stack = stack_start(data_dir)
        try:
            results["max_connections"] = max_connections(stack.database_url)
            print("reads, pooled", flush=True)
            results["pooled"] = read_phase(stack, seconds=args.seconds, readers=args.readers)
            print(json.dumps(results["pooled"]), flush=True)
            print("/healthz ceiling", flush=True)
            results["ceiling"] = read_phase(
                stack, seconds=min(args.seconds, 20), readers=args.readers, paths=["/healthz"]
            )
            print(json.dumps(results["ceiling"]), flush=True)
            print("mixed", flush=True)
            results["mixed"] = mixed_phase(
                stack, seconds=args.seconds, readers=args.readers, askers=args.askers, streamers=args.streamers
            )
            print(json.dumps(results["mixed"]), flush=True)
        finally:
            stack_stop(stack.process)
        # The same data directory: the second start migrates nothing and skips the ingested documents.
        stack = stack_start(data_dir, extra_env={"OPTIQ_DB_POOL": "0", "OPTIQ_DB_CONN_MAX_AGE": "60"})
        try:
            print("reads, persistent connections", flush=True)
            results["persistent"] = read_phase(stack, seconds=args.seconds, readers=args.readers)
            print(json.dumps(results["persistent"]), flush=True)
        finally:
            stack_stop(stack.process)
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    results["when"] = time.strftime("%H:%M UTC", time.gmtime())
    defaults = {"--seconds": (args.seconds, 60), "--readers": (args.readers, 64)}
    defaults |= {"--askers": (args.askers, 16), "--streamers": (args.streamers, 8)}
    command = "python benchmarks/load.py" + "".join(
        f" {option} {value:g}" for option, (value, default) in defaults.items() if value != default
    )
    text = section(results, command)
    print(text)
    if not args.no_write:
        from benchmarks.harness import write_section

        write_section("load", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
