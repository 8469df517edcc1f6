"""`make run`: the whole platform on one machine.

Starts (or reuses) the embedded PostgreSQL + pgvector and Valkey unless DATABASE_URL /
REDIS_URL point elsewhere, migrates, creates the demo admin and API key on first start,
loads demo data, then runs the ASGI web server, one Celery worker per queue and Flower
until Ctrl-C, which stops everything it started. `make stop` (`--stop`) does the same from
another terminal: the running runner is told to stop (its pid is kept in the data folder), then
any embedded server a `manage.py` command left running is stopped. A second `make run` on the
same data folder says where the first one is instead of fighting it for its ports.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
CONNECTION_HEADROOM = 10


def _say(message: str) -> None:
    print(f"[optiq] {message}", flush=True)


PID_FILE = "runner.pid"


def running_runner(data_dir: Path) -> int | None:
    """The pid of the runner serving `data_dir`, or None (a stale pid file is removed)."""
    path = data_dir / PID_FILE
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        # A pid reused by another program is not ours.
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"optiq_site.runner" not in cmdline.read_bytes():
            raise ProcessLookupError
    except (FileNotFoundError, ValueError, ProcessLookupError):
        path.unlink(missing_ok=True)
        return None
    except PermissionError:  # alive, another user's
        return pid
    return pid


def stop_all(data_dir: Path, *, timeout: float = 90) -> None:
    """`make stop`: stop the runner serving `data_dir` (it stops what it started), then any
    embedded server left running there by a standalone command."""
    from optiq_site import embedded

    pid = running_runner(data_dir)
    if pid is not None:
        _say(f"Stopping the running platform (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running_runner(data_dir) == pid and time.monotonic() < deadline:
            time.sleep(0.5)
        if running_runner(data_dir) == pid:
            _say(f"pid {pid} did not stop within {timeout:.0f} s")
    embedded.valkey_stop(data_dir / "valkey")
    embedded.postgres_stop(data_dir / "pgdata")


def _manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    command = [sys.executable, str(BASE_DIR / "manage.py"), *args]
    if capture:
        return subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    subprocess.run(command, env=env, check=True)
    return ""


def _connect(database_url: str) -> Any:
    import psycopg

    from optiq_site.settings.base import database_settings

    db = database_settings(database_url)
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        connect_timeout=5,
    )


def _pgvector_preflight(database_url: str) -> int:
    """Exit with what to do when the server lacks pgvector; return its max_connections."""
    with _connect(database_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
        max_connections = int(conn.execute("SHOW max_connections").fetchone()[0])
    if row is None:
        _say(
            "The PostgreSQL at DATABASE_URL has no pgvector extension ('vector'). Install pgvector "
            "on that server (postgresql-NN-pgvector, or the pgvector/pgvector Docker image), or unset "
            "DATABASE_URL to use the embedded PostgreSQL."
        )
        sys.exit(2)
    return max_connections


def _connection_budget(*, web_processes: int, web_pool: int, worker_processes: int, worker_pool: int) -> int:
    """The most connections the platform opens: every process has its own pool, plus a few for
    management commands and the runner itself."""
    return web_processes * web_pool + worker_processes * worker_pool + CONNECTION_HEADROOM


def stored_secret(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret kept in `path` (readable by this user only), made on first use; and whether it was made now."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    return secret, True


def flower_basic_auth(data_dir: Path) -> tuple[str, str]:
    """Flower's "user:password": FLOWER_BASIC_AUTH, else one made on first start and kept in
    the data directory; and where it comes from, to print."""
    from optiq_site.settings.env import env_str

    given = env_str("FLOWER_BASIC_AUTH")
    if given:
        return given, "FLOWER_BASIC_AUTH"
    path = data_dir / "flower-credentials"
    value, _ = stored_secret(path, lambda: f"optiq:{secrets.token_urlsafe(18)}")
    return value, str(path)


def flower_process(*, celery: list[str], data_dir: Path, port: int) -> tuple[list[str], dict[str, str], str]:
    """Flower's command and environment, and where its login is: basic auth always, on loopback
    unless OPTIQ_FLOWER_HOST names another interface. The login goes in the environment, not on
    the command line, which every local user can read."""
    from optiq_site.settings.env import env_str

    host = env_str("OPTIQ_FLOWER_HOST", "127.0.0.1") or "127.0.0.1"
    basic_auth, where = flower_basic_auth(data_dir)
    if ":" not in basic_auth or not basic_auth.split(":", 1)[1]:
        raise SystemExit("FLOWER_BASIC_AUTH must be user:password")
    command = [*celery, "flower", f"--port={port}", f"--address={host}"]
    return command, {"FLOWER_BASIC_AUTH": basic_auth}, where


def _wait_ready(url: str, processes: list[subprocess.Popen[bytes]], timeout: float = 180, *, token: str = "") -> dict:
    deadline = time.monotonic() + timeout
    last: dict = {}
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            return last
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            last = json.loads(exc.read() or b"{}")
        except OSError:
            pass
        time.sleep(1)
    return last


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.local")
    from optiq_site.settings.env import env_path

    data_dir = env_path("OPTIQ_DATA_DIR", BASE_DIR / "var")
    data_dir.mkdir(parents=True, exist_ok=True)
    if "--stop" in sys.argv[1:]:
        stop_all(data_dir)
        return 0
    other = running_runner(data_dir)
    if other is not None:
        _say(
            f"OptiQ is already running from {data_dir} (pid {other}); its addresses are in the terminal that "
            "started it. `make stop` stops it."
        )
        return 1
    (data_dir / PID_FILE).write_text(str(os.getpid()))
    # `make stop` from another terminal: stop what was started, wherever the start has got to.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return _run(data_dir)
    except KeyboardInterrupt:
        return 0
    finally:
        if running_runner(data_dir) == os.getpid():
            (data_dir / PID_FILE).unlink(missing_ok=True)


def _run(data_dir: Path) -> int:
    from optiq_site.settings.env import env_bool, env_int, env_str

    env = dict(os.environ)
    embedded_pg = not env_str("DATABASE_URL")
    embedded_redis = not env_str("REDIS_URL")
    started = time.monotonic()

    from optiq_site import embedded

    if embedded_pg:
        _say(f"Starting the embedded PostgreSQL + pgvector in {data_dir / 'pgdata'}")
        env["DATABASE_URL"] = embedded.postgres_start(data_dir / "pgdata")
    if embedded_redis:
        _say(f"Starting the embedded Valkey broker in {data_dir / 'valkey'}")
        env["REDIS_URL"] = embedded.valkey_start(data_dir / "valkey")
    max_connections = _pgvector_preflight(env["DATABASE_URL"])

    processes: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        _say("Stopping…")
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if embedded_redis:
            embedded.valkey_stop(data_dir / "valkey")
        if embedded_pg:
            embedded.postgres_stop(data_dir / "pgdata")
        _say("Stopped. Your data is kept in " + str(data_dir))

    try:
        _say("Migrating the database")
        _manage("migrate", "--noinput", env=env)
        _say("Preparing demo user, API key and demo data")
        output = _manage("bootstrap_local", env=env, capture=True)
        lines = [line for line in output.splitlines() if line.strip()]
        for line in lines[:-1]:
            print(line)
        credentials = json.loads(lines[-1])

        host = env_str("OPTIQ_HOST", "127.0.0.1") or "127.0.0.1"
        port = env_int("OPTIQ_PORT", 8000)
        flower_port = env_int("OPTIQ_FLOWER_PORT", 5555)
        inference_workers = env_int("OPTIQ_INFERENCE_WORKERS", 1)
        web_workers = env_int("OPTIQ_WEB_WORKERS", 1)
        web_pool = env_int("OPTIQ_DB_POOL_MAX", 16)
        worker_pool = env_int("OPTIQ_WORKER_DB_POOL_MAX", 2)
        # Each prefork worker is a parent plus its children, every one with its own pool.
        worker_processes = (1 + inference_workers) + (1 + 1)
        budget = _connection_budget(
            web_processes=web_workers, web_pool=web_pool, worker_processes=worker_processes, worker_pool=worker_pool
        )
        _say(f"Database connections: at most {budget} of the server's max_connections {max_connections}")
        if budget > max_connections:
            _say(
                "  that is more than the server allows: lower OPTIQ_DB_POOL_MAX / OPTIQ_WORKER_DB_POOL_MAX "
                "or OPTIQ_WEB_WORKERS / OPTIQ_INFERENCE_WORKERS, or raise max_connections"
            )
        # One directory of metric files for all web processes (/metrics adds them up),
        # emptied at each start so that counters of earlier runs do not linger.
        metrics_dir = data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        # /metrics and /readyz's detail need this token (optiq_site.operations_access).
        operations_token = env_str("OPTIQ_OPERATIONS_TOKEN") or ""
        operations_where = "OPTIQ_OPERATIONS_TOKEN"
        if not operations_token:
            operations_path = data_dir / "operations-token"
            operations_token, _ = stored_secret(operations_path, lambda: secrets.token_urlsafe(24))
            operations_where = str(operations_path)
        env["OPTIQ_OPERATIONS_TOKEN"] = operations_token
        web_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        worker_env = {**env, "OPTIQ_DB_POOL_MIN": "0", "OPTIQ_DB_POOL_MAX": str(worker_pool)}
        celery = [sys.executable, "-m", "celery", "-A", "optiq_site"]
        flower_command, flower_env, flower_where = flower_process(celery=celery, data_dir=data_dir, port=flower_port)
        flower_host = flower_command[-1].split("=", 1)[1]
        commands = {
            "web": [
                sys.executable,
                "-m",
                "uvicorn",
                "optiq_site.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(web_workers),
                "--no-access-log",
            ],
            "inference worker": [
                *celery,
                "worker",
                "-Q",
                "inference",
                "-n",
                "inference@%h",
                "-c",
                str(inference_workers),
                "-l",
                "INFO",
            ],
            "training worker": [
                *celery,
                "worker",
                "-Q",
                "training,default",
                "-n",
                "training@%h",
                "-c",
                "1",
                "-l",
                "INFO",
            ],
            "flower": flower_command,
        }
        log_dir = data_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        for name, command in commands.items():
            log = open(log_dir / f"{name.replace(' ', '-')}.log", "ab")  # noqa: SIM115 - lives with the process
            process_env = web_env if name == "web" else worker_env
            if name == "flower":
                process_env = {**worker_env, **flower_env}
            processes.append(
                subprocess.Popen(command, env=process_env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
            )
            _say(f"Started {name} (log: {log.name})")

        base = f"http://{host}:{port}"
        ready = _wait_ready(f"{base}/readyz", processes, token=operations_token)
        for check in ready.get("checks", []):
            _say(f"  {'ok ' if check['ok'] else 'NOT'} {check['name']}: {check['detail']}")
        _say(
            f"Ready in {time.monotonic() - started:.1f} s"
            if ready.get("status") == "ready"
            else f"Some checks are not green yet (see above and {log_dir}/)"
        )
        # The password and key are shown once, on the start that made them; afterwards only where they are.
        if credentials.get("created"):
            login = f"password: {credentials['password']}\n    API key      {credentials['api_key']}\n"
            login += f"    (shown once; kept in {credentials['file']})"
        else:
            login = f"password and API key: in {credentials['file']}"
        print(
            f"""
  OptiQ is running.
    Admin        {base}/admin/          user: {credentials["username"]}  {login}
    API docs     {base}/api/docs/      (staff login)
    OpenAI API   {base}/v1/
    Health       {base}/readyz          (detail and /metrics with the token in {operations_where})
    Flower       http://{flower_host}:{flower_port}/   (login in {flower_where})
    Logs         {log_dir}/  (web.log, inference-worker.log, training-worker.log, flower.log)
  Debug pages are {"on (DJANGO_DEBUG=1)" if env_bool("DJANGO_DEBUG", False) else "off; DJANGO_DEBUG=1 turns them on"}.
  Press Ctrl-C to stop.
""",
            flush=True,
        )
        # Started in the background by a shell, SIGINT arrives ignored: Ctrl-C to the process
        # group (or `kill -INT`) still means "stop everything", not "the children exited".
        signal.signal(signal.SIGINT, signal.default_int_handler)
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        failed = [name for name, p in zip(commands, processes, strict=True) if p.poll() is not None]
        _say(f"{', '.join(failed)} exited; see {log_dir}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
