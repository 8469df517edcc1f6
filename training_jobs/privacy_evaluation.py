"""How well the privacy scan finds patient data: recall on shipped training examples with patient
data planted in them, and false positives on the examples and knowledge articles as shipped.

The set (`data/privacy_eval.json`) holds 400 fictional patients (the demo practice's names) and
480 plantings: a phrase carrying one patient's name, date of birth, postcode, phone number,
e-mail address or prescription, put at the start or end of a shipped example. The tuning split's
phrasings are the ones the scan was developed against; the held-out split's, in other words and
formats, were written before and never tuned on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from practice.patient_data_scan import PatientDataMatch, PatientIndex, PatientRecord

DATA = Path(__file__).resolve().parent / "data"
EVALUATION_SET = DATA / "privacy_eval.json"
SHIPPED_EXAMPLES = DATA / "examples.jsonl"
KNOWLEDGE_CORPUS = Path(__file__).resolve().parents[1] / "assistant" / "knowledge_corpus"


@dataclass(frozen=True)
class PlantedExample:
    split: str
    kind: str
    text: str


def patient_records(raw: Iterable[dict[str, Any]]) -> list[PatientRecord]:
    return [
        PatientRecord(
            pk=p["pk"],
            first_name=p["first_name"],
            last_name=p["last_name"],
            date_of_birth=date.fromisoformat(p["date_of_birth"]),
            phone=p["phone"],
            email=p["email"],
            postcode=p["postcode"],
        )
        for p in raw
    ]


def shipped_texts() -> list[str]:
    lines = [json.loads(line) for line in SHIPPED_EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [f"{line.get('system', '')}\n{line['prompt']}\n{line['completion']}" for line in lines]


def knowledge_texts() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(KNOWLEDGE_CORPUS.glob("*.md"))]


def load_evaluation_set() -> tuple[list[PatientRecord], list[PlantedExample]]:
    data = json.loads(EVALUATION_SET.read_text(encoding="utf-8"))
    shipped = [json.loads(line) for line in SHIPPED_EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    planted = []
    for item in data["examples"]:
        base = dict(shipped[item["example"]])
        field = base[item["field"]]
        base[item["field"]] = f"{item['phrase']} {field}" if item["at"] == "start" else f"{field} {item['phrase']}"
        planted.append(PlantedExample(item["split"], item["planted"], f"{base['prompt']}\n{base['completion']}"))
    return patient_records(data["patients"]), planted


def evaluate(find: Callable[[str], list[PatientDataMatch]] | None = None) -> dict[str, Any]:
    """Recall per split and kind (the planted kind found), and the clean texts flagged at all.
    `find` is the scan to judge (default: the practice's, over the set's patients)."""
    patients, planted = load_evaluation_set()
    if find is None:
        find = PatientIndex.from_records(patients).find
    started = time.perf_counter()
    splits: dict[str, dict[str, Any]] = {}
    for split in ("tuning", "held_out"):
        examples = [p for p in planted if p.split == split]
        found: Counter[str] = Counter()
        total: Counter[str] = Counter()
        missed: list[str] = []
        for example in examples:
            total[example.kind] += 1
            if example.kind in {m.kind for m in find(example.text)}:
                found[example.kind] += 1
            else:
                missed.append(example.text)
        splits[split] = {
            "examples": len(examples),
            "recall": sum(found.values()) / len(examples),
            "by_kind": {kind: (found[kind], total[kind]) for kind in sorted(total)},
            "missed": missed,
        }
    clean = {"shipped_examples": shipped_texts(), "knowledge_articles": knowledge_texts()}
    false_positives = {}
    for name, texts in clean.items():
        flagged = [(text[:80], [(m.kind, m.value) for m in hits]) for text in texts if (hits := find(text))]
        false_positives[name] = {"flagged": len(flagged), "texts": len(texts), "examples": flagged[:10]}
    texts_scanned = len(planted) + sum(len(t) for t in clean.values())
    return {
        "patients": len(patients),
        "splits": splits,
        "false_positives": false_positives,
        "ms_per_text": (time.perf_counter() - started) * 1000 / texts_scanned,
    }
