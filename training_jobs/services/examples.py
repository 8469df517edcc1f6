"""Writes to the training examples: create, update, review, import (JSONL), the shipped set, and
a draft from the assistant's feedback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assistant.models import AssistantFeedback
from assistant.threads import answer_hidden_from, answer_permissions_needed, question_for
from practice.patient_data_scan import PatientIndex, may_see_patients
from practice.roles import VIEW_COST_PRICE, VIEW_REPORTS
from training_jobs.dataset_files import LineError, ParsedRecord, parse_jsonl
from training_jobs.models import TrainingExample
from training_jobs.privacy_scan import findings_message, privacy_scan

APPROVE_PERMISSION = "training_jobs.approve_trainingexample"
# Figures of an answer that are restricted to some staff: they become training data only when the
# reviewer may see them too and says so.
RESTRICTED_FIGURES = {VIEW_COST_PRICE: "cost prices", VIEW_REPORTS: "sales report figures"}


def _require_approver(user: Any) -> None:
    """Approved examples are trained on: only a reviewer approves (a command run by the operator,
    with no user, may load approved ones)."""
    if user is not None and not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(
            "Only a reviewer (permission to approve training examples) may approve training examples; "
            "save it as a draft for review."
        )


def _refuse_patient_data(examples: list[Any], user: Any) -> None:
    findings = privacy_scan(examples)
    if findings:
        raise ValidationError({"status": findings_message(findings, user=user)})


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
    """Create one example; the same content (case and spacing aside) twice is refused. An approved
    one needs a reviewer and no patient data."""
    _validate_example(prompt, completion, source, status)
    approved = status == TrainingExample.Status.APPROVED
    if approved:
        _require_approver(created_by)
        _refuse_patient_data(
            [TrainingExample(prompt=prompt, completion=completion, system_prompt=system_prompt)], created_by
        )
    digest = content_hash(prompt=prompt, completion=completion, system_prompt=system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
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
    """Change an example's text or category. Changed text of an approved example goes back to
    review (draft): what is trained on is what a reviewer approved."""
    for name in ("prompt", "completion", "system_prompt", "category"):
        if name in changes:
            setattr(example, name, changes[name])
    _validate_example(example.prompt, example.completion, example.source, example.status)
    digest = content_hash(prompt=example.prompt, completion=example.completion, system_prompt=example.system_prompt)
    if TrainingExample.objects.filter(content_hash=digest).exclude(pk=example.pk).exists():
        raise ValidationError({"prompt": "an example with the same prompt and completion already exists"})
    if digest != example.content_hash and example.status == TrainingExample.Status.APPROVED:
        example.status = TrainingExample.Status.DRAFT
        example.reviewer = None
        example.reviewed_at = None
    example.content_hash = digest
    example.save()
    return example


@transaction.atomic
def training_examples_review(*, examples: Iterable[TrainingExample] | Any, status: str, reviewer: Any) -> int:
    """Bulk approve, reject or return to draft; returns how many changed. Approving needs the
    reviewer's permission and examples without patient data (all or none are approved)."""
    if status not in (TrainingExample.Status.APPROVED, TrainingExample.Status.REJECTED, TrainingExample.Status.DRAFT):
        raise ValidationError({"status": "must be approved, rejected or draft"})
    ids = [e.pk for e in examples]
    if status == TrainingExample.Status.APPROVED:
        _require_approver(reviewer)
        _refuse_patient_data(list(TrainingExample.objects.filter(pk__in=ids).exclude(status=status)), reviewer)
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
    earlier in the file) skipped and counted, bad lines reported with their number and reason.
    Importing as approved needs a reviewer, and lines with patient data are not imported so."""
    _validate_example("x", "x", source, status)
    if status == TrainingExample.Status.APPROVED:
        _require_approver(created_by)
    parsed = parse_jsonl(lines)
    report = ImportReport(errors=list(parsed.errors))
    if status == TrainingExample.Status.APPROVED:
        reveal = may_see_patients(created_by)
        flagged: dict[int, list[str]] = {}
        for finding in privacy_scan(parsed.records, index=PatientIndex.from_database()):
            flagged.setdefault(finding.line or 0, []).append(finding.match.describe(reveal=reveal))
        report.errors += [LineError(line, "patient data: " + "; ".join(found)) for line, found in flagged.items()]
        report.errors.sort(key=lambda e: e.line)
        parsed.records = [r for r in parsed.records if r.line not in flagged]
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


def restricted_figures_in(answer: Any) -> list[str]:
    """The restricted kinds of figures (cost prices, sales reports) the tools behind an answer read."""
    needed = answer_permissions_needed(answer)
    return [label for permission, label in RESTRICTED_FIGURES.items() if permission in needed]


@transaction.atomic
def training_example_create_from_feedback(
    *, feedback: AssistantFeedback, user: Any, confirm_restricted_figures: bool = False
) -> TrainingExample | None:
    """A draft example from the assistant's feedback on an answer: the question, and the
    corrected answer (or the answer itself when it was rated helpful). Returns None when there
    is nothing to teach or the feedback already made one.

    An answer built on cost prices or sales report figures becomes one only for a reviewer who
    may see those figures and confirms (`confirm_restricted_figures`) that the model may learn them."""
    feedback = AssistantFeedback.objects.select_for_update().select_related("message__thread").get(pk=feedback.pk)
    if feedback.training_example_id:
        return None
    answer = feedback.message
    hidden = answer_hidden_from(answer, user)
    if hidden and not answer.touched_patient_data:
        raise ValidationError(f"You may not read this answer: {hidden}.")
    restricted = restricted_figures_in(answer)
    if restricted:
        lacking = [
            label
            for permission, label in RESTRICTED_FIGURES.items()
            if label in restricted and not user.has_perm(permission)
        ]
        if lacking:
            raise ValidationError(f"This answer uses {' and '.join(lacking)}, which you may not see.")
        if not confirm_restricted_figures:
            raise ValidationError(
                f"This answer uses {' and '.join(restricted)}: a model trained on it can repeat them to anyone who asks. "
                "Confirm that it may become training data to make the draft."
            )
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
