"""Find training examples that quote a patient (`practice.patient_data_scan`: names in any order,
with titles or initials, dates of birth, postcodes, phone numbers, e-mail addresses, prescription
values next to a name). Run before an example is approved, before every export and before a job
is queued or run, on examples and on JSONL files alike.

A finding names the matched value only to someone who may see patients: an ML admin learns
which example to fix, not the patient's details."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from practice.patient_data_scan import PatientDataMatch, PatientIndex, may_see_patients


class ExampleText(Protocol):
    """A training example or a record of a JSONL file."""

    prompt: str
    completion: str
    system_prompt: str


@dataclass(frozen=True)
class PrivacyFinding:
    example_id: int | None  # a stored example's id, or None for a line of a file
    line: int | None
    match: PatientDataMatch

    @property
    def where(self) -> str:
        if self.example_id is not None:
            return f"example {self.example_id}"
        return f"line {self.line}" if self.line is not None else "example"

    @property
    def kind(self) -> str:
        return self.match.kind

    @property
    def value(self) -> str:
        return self.match.value

    def describe(self, *, reveal: bool) -> str:
        return f"{self.where}: {self.match.describe(reveal=reveal)}"

    def __str__(self) -> str:
        return self.describe(reveal=False)


def privacy_scan(examples: Iterable[ExampleText], *, index: PatientIndex | None = None) -> list[PrivacyFinding]:
    """The patient data in `examples` (against the practice's patients unless `index` is given)."""
    index = index if index is not None else PatientIndex.from_database()
    findings: list[PrivacyFinding] = []
    if not index:
        return findings
    for example in examples:
        text = "\n".join((example.system_prompt or "", example.prompt, example.completion))
        example_id, line = getattr(example, "pk", None), getattr(example, "line", None)
        findings += [PrivacyFinding(example_id, line, match) for match in index.find(text)]
    return findings


def findings_message(findings: list[PrivacyFinding], *, user: Any, limit: int = 20) -> list[str]:
    """The refusal's lines for `user`: what to fix, with the values only for those who may see them."""
    reveal = may_see_patients(user)
    lines = ["patient data found; edit or reject these examples first"]
    lines += [finding.describe(reveal=reveal) for finding in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"and {len(findings) - limit} more")
    return lines
