"""Examples: import/export JSONL line by line, duplicates, the patient-data scan, the feedback hook."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.training_jobs.factories import TrainingExampleFactory
from training_jobs.dataset_files import parse_jsonl
from training_jobs.models import TrainingExample
from training_jobs.selectors import training_examples_export_lines
from training_jobs.services import training_example_create, training_examples_import, training_examples_load_shipped

pytestmark = pytest.mark.django_db

BAD_FILE = [
    '{"prompt": "What is PD?", "completion": "The distance between your pupils."}',
    "not json at all",
    '{"prompt": "Missing the answer"}',
    '{"messages": [{"role": "user", "content": "What is a toric lens?"}, {"role": "assistant", "content": "A lens that corrects astigmatism."}], "category": "contact-lenses"}',
    '{"prompt": "what is pd?", "completion": "The  distance between your pupils."}',
    '["a", "list"]',
    '{"prompt": "", "completion": "x"}',
    "",
    '{"messages": [{"role": "robot", "content": "hi"}]}',
]


def test_an_import_keeps_valid_lines_counts_duplicates_and_reports_each_bad_line():
    report = training_examples_import(lines=BAD_FILE)

    assert report.created == 2
    assert report.duplicates == 1
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "invalid JSON (Expecting value at column 1)"),
        (3, "missing 'completion'"),
        (6, "each line must be a JSON object"),
        (7, "'prompt' is empty"),
        (9, "messages[0].role must be system, user or assistant, got 'robot'"),
    ]
    toric = TrainingExample.objects.get(prompt="What is a toric lens?")
    assert toric.category == "contact-lenses" and toric.status == TrainingExample.Status.DRAFT
    # Importing the same file again adds nothing.
    assert training_examples_import(lines=BAD_FILE).created == 0


def test_export_round_trips_in_both_formats():
    example = TrainingExampleFactory(system_prompt="You are the practice assistant.", category="lens-types")
    for fmt in ("prompt_completion", "chat"):
        lines, findings = training_examples_export_lines(examples=[example], fmt=fmt)
        assert findings == []
        parsed = parse_jsonl(lines)
        assert parsed.errors == []
        record = parsed.records[0]
        assert (record.prompt, record.completion, record.system_prompt, record.category) == (
            example.prompt,
            example.completion,
            example.system_prompt,
            "lens-types",
        )
    assert "messages" in json.loads(training_examples_export_lines(examples=[example], fmt="chat")[0][0])


def test_the_shipped_examples_load_as_approved_and_reloading_is_idempotent():
    first = training_examples_load_shipped()
    again = training_examples_load_shipped()
    assert first.created >= 150 and first.errors == []
    assert again.created == 0 and again.duplicates == first.created
    categories = set(TrainingExample.objects.values_list("category", flat=True))
    assert len(categories) >= 8
    assert TrainingExample.objects.filter(status="approved").count() == first.created


def test_feedback_creates_a_draft_and_refuses_a_duplicate():
    example = training_example_create(prompt="Can I swim in contact lenses?", completion="Best not: use goggles.")
    assert example.status == "draft" and example.source == "assistant_feedback"
    with pytest.raises(ValidationError) as error:
        training_example_create(prompt="can I swim in  contact lenses?", completion="best not: use goggles.")
    assert "prompt" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        training_example_create(prompt=" ", completion="x", status="published")
    assert set(error.value.message_dict) == {"prompt", "status"}


def test_export_and_training_refuse_examples_that_quote_a_patient():
    from tests.practice.factories import PatientFactory
    from training_jobs.services import training_job_create

    patient = PatientFactory(
        first_name="Margaret", last_name="Oyelaran", phone="07700 900123", email="m.oyelaran@example.org"
    )
    clean = TrainingExampleFactory()
    named = TrainingExampleFactory(prompt="Margaret Oyelaran asked about her varifocals, what do I say?")
    phoned = TrainingExampleFactory(completion="Call them back on +44 7700 900123 today.")
    mailed = TrainingExampleFactory(completion=f"Write to {patient.email.upper()}.")

    lines, findings = training_examples_export_lines(examples=[clean, named, phoned, mailed])
    assert lines == []
    # The address also spells the name ("M.OYELARAN"), which is found as well.
    assert {(f.example_id, f.kind) for f in findings} >= {
        (named.pk, "name"),
        (phoned.pk, "phone"),
        (mailed.pk, "email"),
    }
    assert clean.pk not in {f.example_id for f in findings}
    with pytest.raises(ValidationError) as error:
        training_job_create(base_identifier="/nonexistent.gguf", examples=[clean, named], enqueue=False)
    assert "patient data" in str(error.value)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("export_training_examples", status="all", stdout=out, stderr=out)
    assert "Oyelaran" in out.getvalue()


def test_readiness_fails_with_advice_below_the_minimum_and_passes_on_the_shipped_data():
    TrainingExampleFactory.create_batch(10)
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("training_readiness", "--estimate-tokens", stdout=out)
    assert error.value.returncode == 1
    assert "only 10 approved examples; at least 50 are needed" in out.getvalue()
    assert "to do: write or import 40 more examples" in out.getvalue()

    TrainingExample.objects.all().delete()
    training_examples_load_shipped()
    out = StringIO()
    call_command("training_readiness", "--estimate-tokens", stdout=out)
    assert "READY" in out.getvalue() and "NOT READY" not in out.getvalue()


def test_the_import_command_reports_bad_lines_and_exits_non_zero(tmp_path):
    path = tmp_path / "examples.jsonl"
    path.write_text("\n".join(BAD_FILE), encoding="utf-8")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_training_examples", str(path), stdout=out, stderr=err)
    assert error.value.returncode == 2
    assert "2 imported, 1 duplicates skipped, 5 bad lines" in out.getvalue()
    assert "line 3: missing 'completion'" in err.getvalue()
