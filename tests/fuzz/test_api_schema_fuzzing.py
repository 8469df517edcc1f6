"""Schemathesis over the whole API schema (`/api/` and `/v1`), as a manager and as reception,
against the real server (uvicorn) with a real inference worker: no server error, and every
request and answer true to the schema (a request it allows is served, or refused only as a
401/403/404/409/429, one it forbids is a 4xx, every answer matches its declared status, content
type, headers and body), and no "schema validation mismatch" (an operation refusing everything
the schema allows). The few rules no schema states are named, operation by operation, in
schemathesis.toml; ids are drawn from the practice's own records (see `_config_file`).

A fixed seed and a bounded number of examples (5 per operation, in the fuzzing and stateful
phases) keep the run reproducible and about a minute per role; `make fuzz` adds schemathesis'
coverage phase (every boundary value of every parameter) and 50 examples, for a longer hunt
(`FUZZ_MAX_EXAMPLES`, `FUZZ_SEED`, `FUZZ_PHASES` set them). The API's rate limits are lifted
for the run's server (OPTIQ_THROTTLE_*=off) and the wrong-key lockout raised out of reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.training_jobs.factories import TrainingExampleFactory

# The fuzzer sends thousands of requests a minute with one key, and wrong keys on purpose (its
# authentication checks): rate limits and the wrong-key lockout would answer 429 to the rest.
NO_RATE_LIMITS = {
    "OPTIQ_THROTTLE_USER": "off",
    "OPTIQ_THROTTLE_API_KEY": "off",
    "OPTIQ_THROTTLE_ANONYMOUS": "off",
    "OPTIQ_LOGIN_FAILURE_LIMIT": "1000000",
}

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("FUZZ_SEED", "20261118"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
# The active model for the run: the default GGUF with a 64-token context, so that a generated
# request is answered (or refused as too long) in a second or two whatever max_tokens it asks.
FUZZ_MODEL_CONTEXT = 64


@pytest.fixture
def fuzz_server(private_broker, inference_worker_on, live_api, small_practice, default_gguf):  # type: ignore[no-untyped-def]
    from assistant.knowledge.services import knowledge_document_ingest
    from assistant.registry.services import model_version_register

    model_version_register(
        name="gemma-3-270m-fuzz", path=default_gguf, chat_format="gemma", n_ctx=FUZZ_MODEL_CONTEXT, activate=True
    )
    knowledge_document_ingest(
        content=(
            "---\ntitle: Progressive lenses\ncategory: lens-types\n---\n# Progressive lenses\n\n"
            "A progressive lens changes power gradually from distance at the top to near at the bottom, "
            "with no visible line between the zones."
        ),
        slug="progressive-lenses",
        embed="now",
    )
    # Examples to review: without any, every review names ids that do not exist (a 400).
    TrainingExampleFactory.create_batch(5, status="draft")
    inference_worker_on(private_broker)
    # Thousands of requests a minute from one key: the API's rate limits are lifted for the run.
    base = live_api(extra_env={**private_broker.env(), **NO_RATE_LIMITS})
    return base, small_practice


def _config_file(tmp_path: Path) -> Path:
    """tests/fuzz/schemathesis.toml, with the practice's own records as dictionaries the fuzzer
    draws ids from: a patient, product or example that does not exist is a 400 (or a 404 in the
    path) that no schema can foresee, so a run on random ids alone would reach little beyond it.
    Path ids are drawn from them part of the time only: an unknown id still gets its 404."""
    from django.contrib.auth import get_user_model

    from practice.models import LabJob, Patient, Product, Sale
    from training_jobs.models import TrainingExample

    def values(rows: object) -> list[object]:
        return sorted(rows)[:200]  # type: ignore[call-overload]

    active = Product.objects.filter(is_active=True)
    dictionaries = {
        "patients": values(Patient.objects.values_list("id", flat=True)),
        "products": values(active.values_list("id", flat=True)),
        "skus": values(active.values_list("sku", flat=True)),
        "staff": values(get_user_model().objects.values_list("id", flat=True)),
        "examples": values(TrainingExample.objects.values_list("id", flat=True)),
        "sales": values(Sale.objects.values_list("id", flat=True)),
        "lab_jobs": values(LabJob.objects.values_list("id", flat=True)),
    }
    dictionaries = {name: rows for name, rows in dictionaries.items() if rows}  # the fuzzer refuses an empty one
    lines = [(HERE / "schemathesis.toml").read_text(), ""]
    lines += [f"[dictionaries.{name}]\nvalues = {json.dumps(rows)}\n" for name, rows in dictionaries.items()]
    lines += [
        "[parameters]",
        *(
            f'"{key}" = {{ dictionary = "{name}" }}'
            for key, name in {
                "body.patient": "patients",
                "body.product": "products",
                "body.lines[*].product": "products",
                "body.lines[*].sku": "skus",
                "body.issued_by": "staff",
                "body.ids[*]": "examples",
                "query.staff": "staff",
                "query.product": "products",
                "query.sale": "sales",
            }.items()
            if name in dictionaries
        ),
        "",
    ]
    # The first entry that matches an operation is the one it gets: the most specific first.
    for path in ("/api/v1/stock-movements/", "/api/v1/sales/{id}/lines/"):
        sale = ', "path.id" = { dictionary = "sales", probability = 0.8 }' if "{id}" in path else ""
        lines += [
            "[[operations]]",
            f'include-path = "{path}"',
            'include-method = "POST"',
            f'parameters = {{ "body.sku" = {{ dictionary = "skus" }}{sale} }}',
            "",
        ]
    for path, name in {"^/api/v1/sales/\\{id\\}/": "sales", "^/api/v1/lab-jobs/\\{id\\}/": "lab_jobs"}.items():
        lines += [
            "[[operations]]",
            f"include-path-regex = '{path}'",
            f'parameters = {{ "path.id" = {{ dictionary = "{name}", probability = 0.8 }} }}',
            "",
        ]
    config = tmp_path / "schemathesis.toml"
    config.write_text("\n".join(lines))
    return config


def _schema_file(tmp_path: Path) -> Path:
    """The schema `/api/schema/` serves, generated in this process (drf-spectacular)."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(schema, default=str))
    return path


@pytest.mark.parametrize("role", ["manager", "reception"])
def test_the_fuzzer_finds_no_server_error_and_no_schema_mismatch(fuzz_server, tmp_path, role):
    base, practice = fuzz_server
    report_dir = tmp_path / "schemathesis"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(_config_file(tmp_path)),
        "run",
        str(_schema_file(tmp_path)),
        "--url",
        base,
        "--header",
        f"Authorization: Bearer {practice.keys[role]}",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
        "--phases",
        PHASES,
        "--generation-database",
        "none",
        "--no-color",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / f"schemathesis-{role}.txt"
    with log.open("w") as out:  # written as it runs: a run cut short still shows what it found
        code = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=900).returncode
    report = log.read_text()
    assert code == 0, report[-20000:]
    # schemathesis' own words when the API refuses what the schema allows (fail-on makes the
    # exit code say it too): the schema and the validation disagree.
    assert "Schema validation mismatch" not in report, report[-20000:]
