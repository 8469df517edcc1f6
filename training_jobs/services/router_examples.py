"""The router's training examples: the router data set written as examples, router examples made
from feedback on data answers, and the examples a router job trains on."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from assistant.router import ROUTER_CATEGORY
from assistant.router.dataset import normalised_question, practice_vocabulary, router_pairs
from assistant.router.outputs import completion_text, read_output
from assistant.router.prompt import ROUTER_INSTRUCTION
from training_jobs.dataset_files import record_to_json
from training_jobs.models import TrainingExample

DEFAULT_COUNT = 4000
# Sized for the 2-core reference CPU (about 20 minutes, `make train-router`): short sequences
# (a router example is about 60 tokens), one pass over a subset, a higher rate than for prose.
ROUTER_HYPERPARAMETERS: dict[str, Any] = {
    "num_epochs": 1,
    "batch_size": 8,
    "gradient_accumulation_steps": 1,
    "learning_rate": 5e-4,
    "lora_r": 16,
    "lora_alpha": 32,
    "max_seq_length": 128,
    "eval_fraction": 0.04,
    "checkpoint_every": 50,
}
ROUTER_TRAINING_COUNT = 1600


@dataclass
class RouterDatasetReport:
    made: int = 0
    created: int = 0
    duplicates: int = 0
    left_out_for_privacy: list[str] = field(default_factory=list)
    families: dict[str, int] = field(default_factory=dict)


def evaluation_questions() -> set[str]:
    """The data-question evaluation's questions (normalised): never training data."""
    from assistant.eval.data import data_questions

    return {normalised_question(item["question"]) for item in data_questions()}


def router_dataset_build(
    *,
    count: int = DEFAULT_COUNT,
    status: str = TrainingExample.Status.APPROVED,
    seed: int = 20261118,
    today: date | None = None,
    created_by: Any = None,
) -> RouterDatasetReport:
    """Write `count` router pairs from the training templates as training examples of the
    router category, imported like any others (duplicates of earlier runs are skipped).
    Pairs that would quote a patient (a staff member sharing a patient's name) are left out."""
    from training_jobs.privacy_scan import privacy_scan
    from training_jobs.services.examples import training_examples_import

    if status not in (TrainingExample.Status.APPROVED, TrainingExample.Status.DRAFT):
        raise ValidationError({"status": "must be approved or draft"})
    if not 1 <= count <= 50_000:
        raise ValidationError({"count": "must be between 1 and 50000"})
    pairs = router_pairs(
        vocabulary=practice_vocabulary(),
        split="train",
        count=count,
        seed=seed,
        today=today,
        exclude=evaluation_questions(),
    )
    report = RouterDatasetReport(made=len(pairs))
    unsaved = [
        TrainingExample(pk=index, prompt=pair.question, completion=pair.completion, system_prompt=ROUTER_INSTRUCTION)
        for index, pair in enumerate(pairs)
    ]
    flagged = {finding.example_id for finding in privacy_scan(unsaved) if finding.example_id is not None}
    report.left_out_for_privacy = [pairs[index].question for index in sorted(flagged)]
    kept = [pair for index, pair in enumerate(pairs) if index not in flagged]
    for pair in kept:
        family = pair.template.rsplit("-", 1)[0]
        report.families[family] = report.families.get(family, 0) + 1
    lines = [
        record_to_json(
            prompt=pair.question,
            completion=pair.completion,
            system_prompt=ROUTER_INSTRUCTION,
            category=ROUTER_CATEGORY,
        )
        for pair in kept
    ]
    imported = training_examples_import(lines=lines, status=status, source="import", created_by=created_by)
    report.created, report.duplicates = imported.created, imported.duplicates
    return report


def router_examples(*, count: int | None = None, seed: int = 42) -> list[TrainingExample]:
    """The approved router examples (generated, imported, or made from feedback) that read back
    as a router output: what a router training job is given. With `count`, a seeded sample of
    that many, every example staff made from feedback included first."""
    examples = TrainingExample.objects.filter(category=ROUTER_CATEGORY, status=TrainingExample.Status.APPROVED)
    valid = [example for example in examples.order_by("pk") if read_output(example.completion).valid]
    if count is None or count >= len(valid):
        return valid
    staff = [e for e in valid if e.source != TrainingExample.Source.IMPORT]
    generated = [e for e in valid if e.source == TrainingExample.Source.IMPORT]
    chosen = staff[:count] + random.Random(seed).sample(generated, max(0, count - len(staff)))
    return sorted(chosen, key=lambda e: e.pk)


def _period_words(arguments: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments as the router writes them: dates become a period in words."""
    output = {key: value for key, value in arguments.items() if key not in ("start", "end") and value is not None}
    if arguments.get("start") and "period" not in output:
        start = date.fromisoformat(arguments["start"])
        end = date.fromisoformat(arguments.get("end") or arguments["start"])
        output["period"] = (
            f"{start.day} {start:%B %Y}"
            if start == end
            else (f"between {start.day} {start:%B %Y} and {end.day} {end:%B %Y}")
        )
    return output


@transaction.atomic
def router_example_from_feedback(*, feedback: Any, user: Any) -> TrainingExample | None:
    """A draft router example from feedback on a data answer: the question, and the structured
    query the answer ran, for the reviewer to correct ("not helpful" with the right figure:
    edit the query to the one that gives it) before approving. None when the answer ran no
    query, read patient data, or the feedback's question already has a router example."""
    from assistant.models import AssistantMessage
    from assistant.threads import answer_hidden_from, question_for
    from training_jobs.services.examples import training_example_create

    answer = feedback.message
    hidden = answer_hidden_from(answer, user)
    if hidden and not answer.touched_patient_data:
        raise ValidationError(f"You may not read this answer: {hidden}.")
    if answer.kind != AssistantMessage.Kind.DATA or answer.touched_patient_data:
        return None
    call = next((c for c in answer.tool_calls or [] if c.get("name") and "arguments" in c), None)
    question = question_for(answer)
    if call is None or question is None:
        return None
    output = _period_words(call["arguments"])
    if call["name"] != "data_query":
        output = {"route": call["name"], **output}
    if not read_output(completion_text(output)).valid:
        return None
    prompt = " ".join(question.content.split())
    if TrainingExample.objects.filter(category=ROUTER_CATEGORY, prompt=prompt).exists():
        return None
    return training_example_create(
        prompt=prompt,
        completion=completion_text(output),
        system_prompt=ROUTER_INSTRUCTION,
        category=ROUTER_CATEGORY,
        source=TrainingExample.Source.ASSISTANT_FEEDBACK,
        status=TrainingExample.Status.DRAFT,
        created_by=user,
    )
