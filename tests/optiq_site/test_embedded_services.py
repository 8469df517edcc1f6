"""The embedded services keep their data across a stop and a start, as `make run` promises,
and settings find them only while they run."""

import psycopg
import redis

from optiq_site import embedded


def test_embedded_postgres_keeps_data_across_restart_and_has_pgvector(tmp_path):
    pgdata = tmp_path / "pgdata"
    url = embedded.postgres_start(pgdata, name="keepme")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("CREATE TABLE t (v vector(3))")
            conn.execute("INSERT INTO t VALUES ('[1,2,3]')")
        embedded.postgres_stop(pgdata)
        url = embedded.postgres_start(pgdata, name="keepme")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT v <=> '[1,2,3]' FROM t").fetchone()[0] == 0
    finally:
        embedded.postgres_stop(pgdata)


def test_the_running_embedded_postgres_is_found_and_a_stopped_one_is_not(tmp_path):
    pgdata = tmp_path / "pgdata"
    assert embedded.postgres_url_if_running(pgdata) is None
    url = embedded.postgres_start(pgdata, name="findme")
    try:
        found = embedded.postgres_url_if_running(pgdata, name="findme")
        assert found == url
        with psycopg.connect(found) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == "findme"
    finally:
        embedded.postgres_stop(pgdata)
    assert embedded.postgres_url_if_running(pgdata, name="findme") is None


def test_embedded_valkey_keeps_data_across_restart(tmp_path):
    url = embedded.valkey_start(tmp_path / "valkey")
    try:
        redis.Redis.from_url(url).set("practice", "open")
        embedded.valkey_stop(tmp_path / "valkey")
        url = embedded.valkey_start(tmp_path / "valkey")
        assert redis.Redis.from_url(url).get("practice") == b"open"
        assert embedded.valkey_url_if_running(tmp_path / "valkey") == url
    finally:
        embedded.valkey_stop(tmp_path / "valkey")
    assert embedded.valkey_url_if_running(tmp_path / "valkey") is None
