"""The privacy scan on the shipped evaluation set (training_jobs/privacy_evaluation.py): recall per
split and kind of planted patient data, false positives on the shipped examples and knowledge
articles, and time per text; against the scan it replaced (an exact "first last" name, a whole
e-mail address, a phone number's digits) on the same set.

    .venv/bin/python benchmarks/privacy_scan.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import write_section  # noqa: E402
from practice.patient_data_scan import PatientDataMatch, PatientRecord  # noqa: E402
from training_jobs.privacy_evaluation import evaluate, load_evaluation_set  # noqa: E402

_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def previous_scan(patients: list[PatientRecord]):  # type: ignore[no-untyped-def]
    """The scan as it was: names "first last" (case-folded, spaces collapsed), whole e-mails, phone digits."""
    names = {f"{p.first_name} {p.last_name}".casefold() for p in patients}
    emails = {p.email.casefold() for p in patients if p.email}
    phones: set[str] = set()
    for p in patients:
        digits = re.sub(r"\D", "", p.phone)
        phones |= {digits, "44" + digits[1:]} if digits.startswith("0") else {digits}

    def find(text: str) -> list[PatientDataMatch]:
        folded = " ".join(text.casefold().split())
        found = [PatientDataMatch("name", n) for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", folded)]
        found += [PatientDataMatch("email", e) for e in emails if e in folded]
        found += [
            PatientDataMatch("phone", m.group())
            for m in _PHONE_LIKE.finditer(text)
            if re.sub(r"\D", "", m.group()) in phones
        ]
        return found

    return find


def row(name: str, result: dict) -> str:  # type: ignore[type-arg]
    cells = [name]
    for split in ("tuning", "held_out"):
        s = result["splits"][split]
        cells.append(f"{s['recall']:.1%}")
    fp = result["false_positives"]
    cells.append(f"{fp['shipped_examples']['flagged']} / {fp['shipped_examples']['texts']}")
    cells.append(f"{fp['knowledge_articles']['flagged']} / {fp['knowledge_articles']['texts']}")
    cells.append(f"{result['ms_per_text']:.2f}")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    patients, _ = load_evaluation_set()
    current = evaluate()
    before = evaluate(previous_scan(patients))
    kinds = sorted(current["splits"]["held_out"]["by_kind"])
    lines = [
        "## Privacy scan: patient data planted in training examples",
        "",
        f"`.venv/bin/python benchmarks/privacy_scan.py`: {current['patients']} fictional patients, "
        f"{current['splits']['tuning']['examples']} + {current['splits']['held_out']['examples']} shipped examples "
        "with one patient's data planted (tuning / held-out phrasings; the held-out ones were written before "
        "the scan was tuned and never tuned on), and the texts as shipped for false positives "
        "(`training_jobs/privacy_evaluation.py`, set in `training_jobs/data/privacy_eval.json`).",
        "",
        "| scan | recall, tuning | recall, held-out | shipped examples flagged | knowledge articles flagged | ms per text (one run) |",
        "| --- | --- | --- | --- | --- | --- |",
        row("`practice.patient_data_scan`", current),
        row("previous (exact name, e-mail, phone digits)", before),
        "",
        "Recall per kind (found / planted):",
        "",
        "| kind | tuning | held-out | previous scan, held-out |",
        "| --- | --- | --- | --- |",
    ]
    for kind in kinds:
        t = current["splits"]["tuning"]["by_kind"][kind]
        h = current["splits"]["held_out"]["by_kind"][kind]
        p = before["splits"]["held_out"]["by_kind"][kind]
        lines.append(f"| {kind} | {t[0]} / {t[1]} | {h[0]} / {h[1]} | {p[0]} / {p[1]} |")
    section = "\n".join(lines)
    print(section)
    write_section("privacy_scan", section)


if __name__ == "__main__":
    main()
