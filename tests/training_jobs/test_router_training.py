"""A router trained by OptiQ's own path in a few steps (the whole run is `make train-router`):
router examples from the catalogue, a LoRA job on a tiny Gemma 3 (the default model's tokenizer
and architecture, two small layers: the pipeline is the real one, in seconds), its GGUF adapter
registered with the router role and activated, the question read by a real inference worker
under the grammar of the router's schema, the parser deciding when the reading does not
validate, and the rollback returning every question to the parser."""

from __future__ import annotations

import json
from datetime import date

import jsonschema
import pytest

from training_jobs.models import TrainingJob
from training_jobs.services import training_job_create, training_job_deploy, training_job_rollback
from training_jobs.tasks import training_job_run

pytestmark = pytest.mark.django_db(transaction=True)
TODAY = date(2026, 11, 18)


def test_a_few_step_router_is_registered_decoded_under_its_grammar_and_rolled_back(
    settings, tmp_path, inference_worker, tiny_gguf
):
    from assistant.chat.data_answers import plan_question
    from assistant.llm.client import chat_complete
    from assistant.llm.default_model import DEFAULT_CHAT_FORMAT
    from assistant.registry.selectors import active_model
    from assistant.registry.services import model_version_register
    from assistant.router.decoding import ROUTER_SAMPLING
    from assistant.router.outputs import read_output, router_schema
    from assistant.router.planning import active_router
    from assistant.router.prompt import router_messages
    from assistant.tools.planner import plan_from_parser
    from practice import roles
    from tests.practice.factories import stocked_product, user_in_role
    from training_jobs.services.router_examples import ROUTER_HYPERPARAMETERS, router_dataset_build, router_examples

    base = model_version_register(name="gemma-base", path=tiny_gguf, chat_format=DEFAULT_CHAT_FORMAT, activate=True)
    for brand, model in (("Oakley", "Holbrook"), ("Ray-Ban", "Clubmaster"), ("Tom Ford", "FT5401")):
        stocked_product(category="frame", brand=brand, model=model, supplier=f"{brand} UK")
    manager = user_in_role(roles.MANAGER, username="manager-router", first_name="Priya", last_name="Shah")
    assert router_dataset_build(count=60, today=TODAY).created == 60
    job = training_job_create(
        base_model=base,
        examples=router_examples(count=32),
        hyperparameters={**ROUTER_HYPERPARAMETERS, "max_steps": 3, "eval_fraction": 0.125},
        enqueue=False,
        output_dir=str(tmp_path / "job"),
    )
    assert training_job_run(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.evaluation["fine_tuned_eval_loss"] < job.evaluation["base_eval_loss"]

    router = training_job_deploy(job=job)
    assert (router.role, router.status) == ("router", "active") and router.lora_path
    assert active_model(role="chat") == base and active_router() == router  # the chat model is untouched

    inference_worker()
    question = "How many Oakley frames did we sell last month?"
    result = chat_complete(
        messages=router_messages(question),
        model=router.name,
        role="router",
        json_schema=router_schema(),
        **ROUTER_SAMPLING,
    )
    if result.finish_reason == "stop":  # the grammar: a finished output is always the schema's JSON
        jsonschema.validate(json.loads(result.text), router_schema())
    plan = plan_question(question, user=manager, today=TODAY)
    note = plan.notes["model_call"]
    reading = read_output(note["text"])
    parser = plan_from_parser(question, user=manager, today=TODAY)
    if reading.route in ("query", "listing"):
        assert plan.planner == "router" and plan.calls[0].arguments == reading.arguments
    else:  # not a reading that validates, or not a figure: the parser decides
        assert (plan.planner, plan.calls, note["used"]) == ("parser", parser.calls, False)

    assert training_job_rollback(role="router") is None
    assert active_router() is None and active_model(role="chat") == base
    after = plan_question(question, user=manager, today=TODAY)
    assert (after.planner, after.calls) == ("parser", parser.calls) and "model_call" not in after.notes
