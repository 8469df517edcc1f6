"""Writes to the training examples: create, update, review, import (JSONL), the shipped set, and
a draft from the assistant's feedback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assistant.models import AssistantFeedback
from assistant.threads import answer_hidden_from, question_for
from training_jobs.dataset_files import LineError, ParsedRecord, parse_jsonl
from training_jobs.models import TrainingExample


def content_hash(*, prompt: str, completion: str, system_prompt: str = "") -> str:
    normalised = "\x1f".join(" ".join(part.casefold().split()) for part in (system_prompt, prompt, completion))
    return hashlib.sha256(normalised.encode()).hexdigest()


def _validate_example(prompt: str, completion: str, source: str, status: str) -> None:
    errors: dict[str, str] = {}
    if not prompt or not prompt.strip():
        errors["prompt"] = "must not be empty"
    if not completion or not completion.strip():
        errors["completion"] = "must not be empty"
    if source not in TrainingExample.Source.values:
        errors["source"] = f"must be one of {', '.join(TrainingExample.Source.values)}"
    if status not in TrainingExample.Status.values:
        errors["status"] = f"must be one of {', '.join(TrainingExample.Status.values)}"
    if errors:
        raise ValidationError(errors)


def training_example_create(
    *,
    prompt: str,
    completion: str,
    category: str = "",
    system_prompt: str = "",
    source: str = "assistant_feedback",
    status: str = "draft",
    created_by: Any = None,
) -> TrainingExample:
    """Create one example; the same content (case and spacing aside) twice is refused."""
    _validate_example(prompt, completion, source, status)
    digest = content_hash(prompt=prompt, completion=completion, system_prompt=system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
    approved = status == TrainingExample.Status.APPROVED
    try:
        with transaction.atomic():
            return TrainingExample.objects.create(
                prompt=prompt.strip(),
                completion=completion.strip(),
                system_prompt=system_prompt.strip(),
                category=category[:64],
                source=source,
                status=status,
                content_hash=digest,
                created_by=created_by,
                reviewer=created_by if approved else None,
                reviewed_at=timezone.now() if approved else None,
            )
    except IntegrityError:
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"}) from None


@transaction.atomic
def training_example_update(*, example: TrainingExample, **changes: Any) -> TrainingExample:
    for name in ("prompt", "completion", "system_prompt", "category"):
        if name in changes:
            setattr(example, name, changes[name])
    _validate_example(example.prompt, example.completion, example.source, example.status)
    digest = content_hash(prompt=example.prompt, completion=example.completion, system_prompt=example.system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exclude(pk=example.pk).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
    example.content_hash = digest
    example.save()
    return example


@transaction.atomic
def training_examples_review(*, examples: Iterable[TrainingExample] | Any, status: str, reviewer: Any) -> int:
    """Bulk approve or reject; returns how many changed."""
    if status not in (TrainingExample.Status.APPROVED, TrainingExample.Status.REJECTED, TrainingExample.Status.DRAFT):
        raise ValidationError({"status": "must be approved, rejected or draft"})
    ids = [e.pk for e in examples]
    return (
        TrainingExample.objects.filter(pk__in=ids)
        .exclude(status=status)
        .update(status=status, reviewer=reviewer, reviewed_at=timezone.now(), updated_at=timezone.now())
    )


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    errors: list[LineError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
        }


def training_examples_import(
    *,
    lines: Iterable[str | bytes],
    status: str = "draft",
    source: str = "import",
    created_by: Any = None,
    default_category: str = "",
) -> ImportReport:
    """Import JSONL (either format): valid lines are created, duplicates (in the database or
    earlier in the file) skipped and counted, bad lines reported with their number and reason."""
    _validate_example("x", "x", source, status)
    parsed = parse_jsonl(lines)
    report = ImportReport(errors=list(parsed.errors))
    seen: set[str] = set()
    fresh: list[tuple[str, ParsedRecord]] = []
    for record in parsed.records:
        digest = content_hash(prompt=record.prompt, completion=record.completion, system_prompt=record.system_prompt)
        if digest in seen:
            report.duplicates += 1
            continue
        seen.add(digest)
        fresh.append((digest, record))
    existing = set(TrainingExample.objects.filter(content_hash__in=seen).values_list("content_hash", flat=True))
    now = timezone.now()
    approved = status == TrainingExample.Status.APPROVED
    to_create = []
    for digest, record in fresh:
        if digest in existing:
            report.duplicates += 1
            continue
        to_create.append(
            TrainingExample(
                prompt=record.prompt,
                completion=record.completion,
                system_prompt=record.system_prompt,
                category=record.category or default_category,
                source=source,
                status=status,
                content_hash=digest,
                created_by=created_by,
                reviewer=created_by if approved else None,
                reviewed_at=now if approved else None,
            )
        )
    with transaction.atomic():
        # ignore_conflicts: an example created concurrently between the check and the insert
        # is a duplicate, not an error.
        created = TrainingExample.objects.bulk_create(to_create, ignore_conflicts=True, batch_size=500)
    report.created = TrainingExample.objects.filter(
        content_hash__in=[e.content_hash for e in created], created_at__gte=now
    ).count()
    report.duplicates += len(to_create) - report.created
    return report


SHIPPED_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples.jsonl"


def training_examples_load_shipped() -> ImportReport:
    """Load the examples shipped with OptiQ as approved (idempotent: reruns find duplicates)."""
    with SHIPPED_EXAMPLES.open(encoding="utf-8") as handle:
        return training_examples_import(lines=handle, status="approved", source="import")


@transaction.atomic
def training_example_create_from_feedback(*, feedback: AssistantFeedback, user: Any) -> TrainingExample | None:
    """A draft example from the assistant's feedback on an answer: the question, and the
    corrected answer (or the answer itself when it was rated helpful). Returns None when there
    is nothing to teach or the feedback already made one."""
    feedback = AssistantFeedback.objects.select_for_update().select_related("message__thread").get(pk=feedback.pk)
    if feedback.training_example_id:
        return None
    answer = feedback.message
    hidden = answer_hidden_from(answer, user)
    if hidden and not answer.touched_patient_data:
        raise ValidationError(f"You may not read this answer: {hidden}.")
    completion = feedback.corrected_answer.strip() or (answer.content if feedback.rating > 0 else "")
    question = question_for(answer)
    # Answers built from patient records never become training data.
    if not completion or question is None or answer.touched_patient_data:
        return None
    example = training_example_create(
        prompt=question.content,
        completion=completion,
        category=answer.kind,
        source=TrainingExample.Source.ASSISTANT_FEEDBACK,
        status=TrainingExample.Status.DRAFT,
        created_by=user,
    )
    feedback.training_example_id = example.pk
    feedback.save(update_fields=["training_example_id"])
    return example
