"""`make stop` from another terminal stops a running `make run`; a second `make run` on the same
data folder says so instead of fighting the first for its ports (real processes, real signals)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from optiq_site.runner import PID_FILE, running_runner, stop_all

ROOT = Path(__file__).resolve().parents[2]


def _runner_like(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A process whose command line names the runner, that exits on SIGTERM as the runner does."""
    script = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); time.sleep(120)"
    process = subprocess.Popen([sys.executable, "-c", script, "optiq_site.runner"])
    (tmp_path / PID_FILE).write_text(str(process.pid))
    time.sleep(0.3)
    return process


def test_a_stale_pid_file_or_another_programs_pid_is_not_a_running_platform(tmp_path):
    (tmp_path / PID_FILE).write_text("999999999")
    assert running_runner(tmp_path) is None and not (tmp_path / PID_FILE).exists()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / PID_FILE).write_text(str(other.pid))
        assert running_runner(tmp_path) is None
    finally:
        other.kill()
        other.wait()


def test_make_stop_stops_the_running_platform_and_waits_for_it(tmp_path):
    process = _runner_like(tmp_path)
    try:
        assert running_runner(tmp_path) == process.pid
        stop_all(tmp_path, timeout=20)
        assert process.wait(timeout=5) == 0  # it was told to stop (SIGTERM) and did
        assert running_runner(tmp_path) is None
    finally:
        if process.poll() is None:
            process.kill()


def test_a_second_make_run_on_the_same_data_folder_says_where_the_first_is(tmp_path):
    process = _runner_like(tmp_path)
    try:
        env = {**os.environ, "OPTIQ_DATA_DIR": str(tmp_path)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        second = subprocess.run(
            [sys.executable, "-m", "optiq_site.runner"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert f"already running from {tmp_path} (pid {process.pid})" in second.stdout
        assert "make stop" in second.stdout
        assert process.poll() is None  # the first is left alone
        assert not (tmp_path / "pgdata").exists()  # and nothing was started
    finally:
        process.kill()
        process.wait()
