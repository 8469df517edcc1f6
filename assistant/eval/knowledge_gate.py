"""The grounding gate against hand-labelled sentences (knowledge_gate_sentences.json).

Every case is an evaluation question with the sources retrieved for it, and answers: what
SmolLM2-135M-Instruct and Gemma 3 270M wrote for it, and paraphrases written for the project.
Each answer is streamed through a fresh gate exactly as an answer is (so repeats of earlier
sentences count), and the verdict on every labelled sentence is kept. Targets: no bad sentence
passes; at least 80% of the good ones do. Thresholds are calibrated on the "dev" cases only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.chat.grounding import THRESHOLDS, GateThresholds, SentenceGate

SENTENCES_FILE = Path(__file__).with_name("knowledge_gate_sentences.json")


@dataclass(frozen=True)
class GateVerdict:
    question: str
    split: str
    origin: str
    sentence: str
    label: str  # "good" or "bad"
    why: str  # why it is labelled so
    dropped_because: str | None  # None: it passed

    @property
    def passed(self) -> bool:
        return self.dropped_because is None


def gate_cases() -> list[dict[str, object]]:
    return list(json.loads(SENTENCES_FILE.read_text(encoding="utf-8"))["cases"])


def gate_verdicts(*, thresholds: GateThresholds = THRESHOLDS, split: str | None = None) -> list[GateVerdict]:
    verdicts: list[GateVerdict] = []
    for case in gate_cases():
        if split is not None and case["split"] != split:
            continue
        for answer in case["answers"]:  # type: ignore[attr-defined]
            gate = SentenceGate(
                case["sources"],  # type: ignore[arg-type]
                max_sentences=99,
                thresholds=thresholds,
                question=str(case["question"]),
            )
            gate.feed(answer["text"])
            gate.close()
            for label in answer["labels"]:
                sentence, reason = gate.verdicts[label["index"]]
                verdicts.append(
                    GateVerdict(
                        question=str(case["question"]),
                        split=str(case["split"]),
                        origin=answer["origin"],
                        sentence=sentence,
                        label=label["label"],
                        why=label["why"],
                        dropped_because=reason,
                    )
                )
    return verdicts
