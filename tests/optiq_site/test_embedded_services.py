"""The embedded services keep their data across a stop and a start, as `make run` promises."""

import psycopg
import redis

from optiq_site import embedded


def test_embedded_postgres_keeps_data_across_restart_and_has_pgvector(tmp_path):
    pgdata = tmp_path / "pgdata"
    db = embedded.postgres_start(pgdata, name="keepme")
    try:
        with psycopg.connect(host=db["HOST"], user="postgres", dbname="keepme", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("CREATE TABLE t (v vector(3))")
            conn.execute("INSERT INTO t VALUES ('[1,2,3]')")
        embedded.postgres_stop(pgdata)
        db = embedded.postgres_start(pgdata, name="keepme")
        with psycopg.connect(host=db["HOST"], user="postgres", dbname="keepme") as conn:
            assert conn.execute("SELECT v <=> '[1,2,3]' FROM t").fetchone()[0] == 0
    finally:
        embedded.postgres_stop(pgdata)


def test_embedded_valkey_keeps_data_across_restart(tmp_path):
    url = embedded.valkey_start(tmp_path / "valkey")
    try:
        redis.Redis.from_url(url).set("practice", "open")
        embedded.valkey_stop(tmp_path / "valkey")
        url = embedded.valkey_start(tmp_path / "valkey")
        assert redis.Redis.from_url(url).get("practice") == b"open"
    finally:
        embedded.valkey_stop(tmp_path / "valkey")
