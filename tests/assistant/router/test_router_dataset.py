"""The router data set, made from templates over the demo practice's catalogue and staff: every
pair validates as a query or a tool call and decodes under the router's grammar schema, held-out
templates never reach training, the data-question evaluation's questions are never made, and the
command writes them as ordinary training examples of their own category."""

from __future__ import annotations

import json

import jsonschema
import pytest
from django.core.management import call_command

from assistant.eval.data import data_questions
from assistant.router import ROUTER_CATEGORY
from assistant.router.dataset import normalised_question, practice_vocabulary, router_pairs
from assistant.router.outputs import read_output, router_schema
from assistant.router.prompt import ROUTER_INSTRUCTION


@pytest.fixture
def pairs(demo):  # type: ignore[no-untyped-def]
    vocabulary = practice_vocabulary()
    return {
        split: router_pairs(vocabulary=vocabulary, split=split, count=600, today=demo["today"])
        for split in ("train", "held_out")
    }


def test_every_pair_validates_and_fits_the_grammar_schema(pairs):
    schema = router_schema()
    for pair in pairs["train"] + pairs["held_out"]:
        reading = read_output(pair.completion)
        assert reading.valid, (pair.question, pair.completion, reading.problem)
        jsonschema.validate(json.loads(pair.completion), schema)


def test_the_held_out_templates_never_reach_training_and_the_pairs_are_distinct(pairs):
    train_templates = {pair.template for pair in pairs["train"]}
    held_out_templates = {pair.template for pair in pairs["held_out"]}
    assert train_templates and held_out_templates and not train_templates & held_out_templates
    questions = [normalised_question(p.question) for p in pairs["train"] + pairs["held_out"]]
    assert len(set(questions)) == len(questions)
    routes = {read_output(p.completion).route for p in pairs["train"]}
    assert {"query", "listing", "knowledge", "ask_back"} <= routes


def test_the_evaluation_questions_are_never_made(demo):
    evaluation = [item["question"] for item in data_questions()]
    excluded = {normalised_question(q) for q in evaluation}
    made = router_pairs(
        vocabulary=practice_vocabulary(), split="train", count=800, today=demo["today"], exclude=excluded
    )
    assert not {normalised_question(p.question) for p in made} & excluded


def test_the_command_writes_reviewable_router_examples_that_pass_the_privacy_scan(demo, capsys):
    from training_jobs.models import TrainingExample
    from training_jobs.privacy_scan import privacy_scan
    from training_jobs.services import training_example_create, training_job_create
    from training_jobs.services.router_examples import router_examples

    call_command("build_router_dataset", "--count", "120", "--status", "draft")
    drafts = TrainingExample.objects.filter(category=ROUTER_CATEGORY)
    assert drafts.count() == 120 and set(drafts.values_list("status", flat=True)) == {"draft"}
    example = drafts.first()
    assert example.system_prompt == ROUTER_INSTRUCTION and read_output(example.completion).valid
    assert not privacy_scan(drafts) and router_examples() == []  # drafts are not trained on
    call_command("build_router_dataset", "--count", "120")  # the same pairs again: duplicates
    assert "0 new approved examples, 120 already there" in capsys.readouterr().out
    call_command("build_router_dataset", "--count", "200")
    assert TrainingExample.objects.filter(category=ROUTER_CATEGORY, status="approved").count() == 80
    assert len(router_examples(count=30)) == 30
    # A chat job is never given the router's examples.
    for prompt, completion in (("What is myopia?", "Short sight."), ("What is hyperopia?", "Long sight.")):
        training_example_create(prompt=prompt, completion=completion, status="approved", source="manual")
    job = training_job_create(base_identifier="google/gemma-3-270m", chat_format="gemma", enqueue=False)
    router_ids = set(TrainingExample.objects.filter(category=ROUTER_CATEGORY).values_list("pk", flat=True))
    assert len(job.example_ids) == 2 and not set(job.example_ids) & router_ids


def test_the_router_split_judges_the_intended_reading_exact_and_another_figure_wrong(demo):
    from assistant.models import ModelVersion
    from assistant.router.evaluation import ROUTER_SPLIT, evaluate_router

    users = {"manager": demo["manager"], "reception": demo["reception"]}
    held_out = router_pairs(vocabulary=practice_vocabulary(), split="held_out", count=40, today=demo["today"])
    intended = {pair.question: pair.completion for pair in held_out}

    def oracle(question: str, *, version: object) -> str:
        return intended[question]

    def always_revenue_last_month(question: str, *, version: object) -> str:
        return '{"metric":"revenue","period":"last month"}'

    version = ModelVersion(pk=1, name="oracle", role="router")
    report = evaluate_router(
        version=version, users=users, today=demo["today"], decode=oracle, router_split_count=40, data_questions=False
    )
    router = report.column(ROUTER_SPLIT, "router")
    assert (router.total, router.exact, router.wrong) == (40, 40, 0), router.wrong_examples
    assert report.invalid_outputs == 0
    report = evaluate_router(
        version=version,
        users=users,
        today=demo["today"],
        decode=always_revenue_last_month,
        router_split_count=40,
        data_questions=False,
    )
    router = report.column(ROUTER_SPLIT, "router")
    # Every question not meant as last month's revenue is now a wrong figure (or, for a listing, a miss).
    meant = [p for p in held_out if read_output(p.completion).route == "query"]
    assert router.total == 40 and router.exact < len(meant) and router.wrong >= len(meant) - router.exact
