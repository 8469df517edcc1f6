import pytest
from django.test import Client


def test_healthz_answers_without_database_or_login():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_and_names_the_queue_when_no_worker_answers():
    response = Client().get("/readyz")
    assert response.status_code == 503
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert checks["database"]["ok"]
    assert checks["pgvector"]["ok"] and checks["pgvector"]["detail"].startswith("vector ")
    assert checks["migrations"]["ok"]
    assert checks["broker"]["ok"]
    assert not checks["workers:inference"]["ok"]
    assert "-Q inference" in checks["workers:inference"]["detail"]


def test_readyz_is_green_with_a_worker_on_each_queue(worker_process):
    worker_process(queues="inference", name="ready-inference@%h", pool="solo")
    worker_process(queues="training,default", name="ready-training@%h", pool="solo")
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    names = {check["name"] for check in body["checks"] if check["ok"]}
    assert {"database", "pgvector", "migrations", "broker", "workers:inference", "workers:training"} <= names
