"""The demo practice of the evaluations, built in a scratch database: the database in use is
never touched."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def _drop_connections() -> None:
    # A pool's connections were opened to the database in use: without dropping them, the
    # scratch database's name would be set while queries still went to the practice's.
    connection.close()
    close_pool = getattr(connection, "close_pool", None)
    if close_pool is not None:
        close_pool()


@contextmanager
def scratch_demo_practice() -> Iterator[None]:
    """A fresh database holding the evaluation's demo practice (`assistant.eval.data.DEMO` at
    `FIXED_TODAY`), for the duration of the block; dropped afterwards."""
    from assistant.eval.data import DEMO, FIXED_TODAY
    from practice.demo.builder import build_demo

    old_name = connection.settings_dict["NAME"]
    old_data_dir = settings.DATA_DIR
    _drop_connections()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            settings.DATA_DIR = Path(scratch)  # the demo logins' password file goes here
            build_demo(**DEMO, today=FIXED_TODAY)
            yield
    finally:
        settings.DATA_DIR = old_data_dir
        _drop_connections()
        connection.creation.destroy_test_db(old_name, verbosity=0)
