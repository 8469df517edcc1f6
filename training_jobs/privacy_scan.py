"""Find training examples that quote a patient: a full name, phone number or e-mail address
from the practice database. Run before every export and before a job is queued."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from training_jobs.models import TrainingExample

MIN_PHONE_DIGITS = 7
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


@dataclass
class PrivacyFinding:
    example_id: int
    kind: str  # "name", "phone" or "email"
    value: str

    def __str__(self) -> str:
        return f"example {self.example_id}: patient {self.kind} {self.value!r}"


def _patient_identifiers() -> tuple[set[str], set[str], set[str]]:
    # Imported lazily: the scan lives with training but the patients belong to the practice app.
    from practice.models import Patient

    names: set[str] = set()
    phones: set[str] = set()
    emails: set[str] = set()
    for first, last, phone, email in Patient.objects.values_list(
        "first_name", "last_name", "phone", "email"
    ).iterator():
        if first and last:
            names.add(f"{first} {last}".casefold())
        digits = re.sub(r"\D", "", phone or "")
        if len(digits) >= MIN_PHONE_DIGITS:
            phones.add(digits)
            if digits.startswith("44"):
                phones.add("0" + digits[2:])
            elif digits.startswith("0"):
                phones.add("44" + digits[1:])
        if email:
            emails.add(email.casefold())
    return names, phones, emails


def privacy_scan(examples: Iterable[TrainingExample]) -> list[PrivacyFinding]:
    names, phones, emails = _patient_identifiers()
    findings: list[PrivacyFinding] = []
    if not (names or phones or emails):
        return findings
    for example in examples:
        text = " ".join((example.system_prompt, example.prompt, example.completion))
        folded = " ".join(text.casefold().split())
        for name in names:
            if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", folded):
                findings.append(PrivacyFinding(example.pk, "name", name.title()))
        for email in emails:
            if email in folded:
                findings.append(PrivacyFinding(example.pk, "email", email))
        for match in _PHONE_LIKE.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if digits in phones:
                findings.append(PrivacyFinding(example.pk, "phone", match.group().strip()))
    return findings
