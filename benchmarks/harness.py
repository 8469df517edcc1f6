"""What the benchmark scripts share: a throw-away embedded PostgreSQL for Django, medians,
and writing a script's own section of benchmarks/RESULTS.md (between its markers)."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


def setup_django(data_dir: Path, *, name: str = "optiq_bench") -> None:
    """Django on a private embedded PostgreSQL + pgvector under `data_dir` (removed with it)."""
    sys.path.insert(0, str(ROOT))
    os.environ["OPTIQ_DATA_DIR"] = str(data_dir)  # before the settings are first imported
    from optiq_site.embedded import postgres_start

    os.environ["DATABASE_URL"] = postgres_start(data_dir / "pgdata", temporary=True, name=name)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # never used by these scripts
    os.environ["DJANGO_SETTINGS_MODULE"] = "optiq_site.settings.local"
    os.environ["DJANGO_DEBUG"] = "0"
    import django

    django.setup()


def teardown_django(data_dir: Path) -> None:
    from django.db import connections

    from optiq_site.embedded import postgres_stop

    connections.close_all()
    postgres_stop(data_dir / "pgdata")


def median_ms(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up (plans, caches)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def write_section(key: str, section: str) -> None:
    """Replace (or append) the block between `<!-- key:start -->` and `<!-- key:end -->`."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{section.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)
