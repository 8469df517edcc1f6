#!/usr/bin/env python
"""Django's command-line utility for OptiQ."""

import os
import sys


def _start_local_services() -> None:
    """In local mode without DATABASE_URL / REDIS_URL, start (or reuse) the embedded servers the
    way `make run` does; they keep running for the next command (`make stop` stops them)."""
    if os.environ["DJANGO_SETTINGS_MODULE"] != "optiq_site.settings.local":
        return
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        return
    from pathlib import Path

    from optiq_site.embedded import local_services_start
    from optiq_site.settings.env import env_path

    data_dir = env_path("OPTIQ_DATA_DIR", Path(__file__).resolve().parent / "var")
    os.environ.update(local_services_start(data_dir, dict(os.environ)))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "optiq_site.settings.local")
    _start_local_services()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
