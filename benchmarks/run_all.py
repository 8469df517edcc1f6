"""`make bench`: every benchmark, one after the other (they share the CPU, so never together).
Each writes its own section of benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run_all.py [--only retrieval training]

About an hour on the 2-core reference machine, most of it building the 1,000,000-line
practice data set and the training runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "practice_reports",
    "retrieval",
    "quote_reranking",
    "inference",
    "ask_latency",
    "ask_page",
    "training",
    "privacy_scan",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=SCRIPTS, default=SCRIPTS)
    args = parser.parse_args()
    failed = []
    for name in args.only:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"== {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
