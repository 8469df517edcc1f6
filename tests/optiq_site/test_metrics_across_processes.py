"""/metrics adds up every web process: uvicorn with two workers, requests landing on both, and
one scrape shows their sum (prometheus_client's multi-process mode)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

MODELS_OK = re.compile(r'^optiq_inference_requests_total\{endpoint="models",model="-",status="200"\} (\S+)$', re.M)


def _pids_with_metric_files(directory: Path) -> set[int]:
    return {int(m.group(1)) for f in directory.glob("counter_*.db") if (m := re.search(r"_(\d+)\.db$", f.name))}


def test_one_scrape_counts_the_requests_of_both_web_workers(live_api, api_key, tmp_path):
    base = live_api(workers=2)
    metrics_dir = tmp_path / "prometheus-0"  # the server's PROMETHEUS_MULTIPROC_DIR
    headers = {"Authorization": f"Bearer {api_key}"}

    def request(_: int) -> int:
        # A new connection each time, so that the kernel hands requests to either worker.
        return httpx.get(f"{base}/v1/models", headers=headers, timeout=30).status_code

    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while len(_pids_with_metric_files(metrics_dir)) < 2:
            assert sent < 400, "every request went to the same worker"
            assert set(pool.map(request, range(16))) == {200}
            sent += 16

    scraped = [float(m) for m in MODELS_OK.findall(httpx.get(f"{base}/metrics", timeout=30).text)]
    assert scraped == [sent]
