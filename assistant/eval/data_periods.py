"""How well periods are recognised on the evaluation's own phrasings: dateparser on its own
against the period grammar (``assistant.tools.periods``, which hands single written dates to
dateparser). Microsoft's Recognizers-Text has no Python package on PyPI to install here
(``recognizers-text-*`` are not on the index), so it is not measured.

Every data question whose truth names a period counts. dateparser's ``search_dates`` returns
points in time, not ranges: it is right when the period is the single day it finds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from assistant.eval.data import FIXED_TODAY, data_questions


@dataclass
class PeriodReader:
    name: str
    right: int = 0
    wrong: int = 0
    none: int = 0
    right_single_days: int = 0
    seconds: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.none

    @property
    def median_ms(self) -> float:
        times = sorted(self.seconds)
        return 1000 * times[len(times) // 2] if times else 0.0


@dataclass
class PeriodMeasurement:
    questions: int
    single_days: int
    readers: list[PeriodReader]


def _dateparser_period(question: str, today: date) -> tuple[str, str] | None:
    from dateparser.search import search_dates

    found = search_dates(
        question,
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime(today.year, today.month, today.day),
            "PREFER_DATES_FROM": "past",
            "DATE_ORDER": "DMY",
        },
    )
    if not found:
        return None
    days = sorted({moment.date().isoformat() for _, moment in found})
    return (days[0], days[-1]) if len(days) <= 2 else None


def _grammar_period(question: str, today: date) -> tuple[str, str] | None:
    """As the parser reads it: normalised and typo-corrected first."""
    from assistant.tools.lexicon import practice_names
    from assistant.tools.periods import Period, find_periods
    from assistant.tools.question_parser import prepare

    text = prepare(question, practice_names())
    matches = [m for m in find_periods(text, today=today, normalised=True) if isinstance(m.result, Period)]
    if not matches:
        return None
    period = matches[0].result
    assert isinstance(period, Period)
    return period.start.isoformat(), period.end.isoformat()


def measure_periods(today: date = FIXED_TODAY) -> PeriodMeasurement:
    items = [item for item in data_questions() if item.get("period")]
    readers = [PeriodReader("dateparser.search_dates alone"), PeriodReader("period grammar (dates by dateparser)")]
    single_days = sum(1 for item in items if item["period"][0] == item["period"][1])
    for item in items:
        expected = tuple(item["period"])
        for reader, read in zip(readers, (_dateparser_period, _grammar_period), strict=True):
            started = time.perf_counter()
            got: Any = read(item["question"], today)
            reader.seconds.append(time.perf_counter() - started)
            if got is None:
                reader.none += 1
            elif tuple(got) == expected:
                reader.right += 1
                reader.right_single_days += expected[0] == expected[1]
            else:
                reader.wrong += 1
    return PeriodMeasurement(len(items), single_days, readers)
