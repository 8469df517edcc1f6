"""Periods in questions: "last month", "in March", "this year", "Q2 2026", "since 1 May"...

Every period is a pair of inclusive dates, resolved against a given "today" so that the
same question asked on different days is tested with fixed dates.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): index for index, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
YEAR = r"(\d{4})"
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "twelve": 12, "thirty": 30}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def describe(self) -> str:
        if self.start == self.end:
            return f"{self.label} ({_d(self.start)})"
        return f"{self.label} ({_d(self.start)} to {_d(self.end)})"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def _d(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_period(year: int, month: int, label: str, today: date) -> Period:
    return Period(date(year, month, 1), min(_month_end(year, month), max(today, date(year, month, 1))), label)


def _date(day: str, month: str, year: str | None, today: date) -> date:
    month_number = MONTHS[month.lower()]
    if year:
        return date(int(year), month_number, int(day))
    candidate = date(today.year, month_number, int(day))
    # "since 1 May" asked in March means last May.
    return candidate if candidate <= today else date(today.year - 1, month_number, int(day))


def parse_period(text: str, *, today: date) -> Period | None:
    """The period a question names, or None when it names none."""
    t = " " + re.sub(r"\s+", " ", text.lower().replace(",", " ")) + " "

    if m := re.search(rf"\b(?:between|from) {DAY} {MONTH}(?: {YEAR})? (?:and|to|until) {DAY} {MONTH}(?: {YEAR})?\b", t):
        start = _date(m.group(1), m.group(2), m.group(3) or m.group(6), today)
        end = _date(m.group(4), m.group(5), m.group(6) or m.group(3), today)
        return Period(start, end, f"{_d(start)} to {_d(end)}")
    if m := re.search(r"\b(?:between|from) (\d{4}-\d{2}-\d{2}) (?:and|to|until) (\d{4}-\d{2}-\d{2})\b", t):
        start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        return Period(start, end, f"{_d(start)} to {_d(end)}")
    if m := re.search(rf"\bsince (?:the )?{DAY}(?: of)? {MONTH}(?: {YEAR})?\b", t) or re.search(
        rf"\bsince {MONTH} {DAY}(?: {YEAR})?\b", t
    ):
        groups = m.groups()
        day, month = (groups[0], groups[1]) if groups[0].isdigit() else (groups[1], groups[0])
        start = _date(day, month, groups[2], today)
        return Period(start, today, f"since {_d(start)}")
    if m := re.search(r"\bsince (\d{4}-\d{2}-\d{2})\b", t):
        start = date.fromisoformat(m.group(1))
        return Period(start, today, f"since {_d(start)}")
    if m := re.search(rf"\bsince {MONTH}(?: {YEAR})?\b", t):
        start = _date("1", m.group(1), m.group(2), today)
        return Period(start, today, f"since {_d(start)}")
    if m := re.search(rf"\b(?:on )?{DAY} {MONTH}(?: {YEAR})?\b", t):
        day = _date(m.group(1), m.group(2), m.group(3), today)
        return Period(day, day, f"on {_d(day)}")
    if m := re.search(r"\bon (\d{4}-\d{2}-\d{2})\b", t):
        day = date.fromisoformat(m.group(1))
        return Period(day, day, f"on {_d(day)}")
    if re.search(r"\btoday\b", t):
        return Period(today, today, "today")
    if re.search(r"\byesterday\b", t):
        day = today - timedelta(days=1)
        return Period(day, day, "yesterday")
    if re.search(r"\bthis week\b|\bweek to date\b", t):
        return Period(today - timedelta(days=today.weekday()), today, "this week")
    if re.search(r"\blast week\b|\bprevious week\b", t):
        start = today - timedelta(days=today.weekday() + 7)
        return Period(start, start + timedelta(days=6), "last week")
    if m := re.search(r"\b(?:last|past|previous) (\d+|[a-z]+) (day|week|month)s?\b", t):
        count = int(m.group(1)) if m.group(1).isdigit() else NUMBER_WORDS.get(m.group(1), 0)
        if count:
            unit = m.group(2)
            if unit == "month":
                year, month = today.year, today.month - count
                while month <= 0:
                    month, year = month + 12, year - 1
                start = date(year, month, min(today.day, calendar.monthrange(year, month)[1])) + timedelta(days=1)
            else:
                start = today - timedelta(days=count * (7 if unit == "week" else 1) - 1)
            return Period(start, today, f"the last {count} {unit}s")
    if re.search(r"\bthis month\b|\bmonth to date\b|\bso far this month\b", t):
        return Period(today.replace(day=1), today, "this month")
    if re.search(r"\blast month\b|\bprevious month\b", t):
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end, "last month")
    if m := re.search(rf"\bq([1-4])(?: {YEAR})?\b", t) or re.search(
        rf"\b(first|second|third|fourth|1st|2nd|3rd|4th) quarter(?: of)?(?: {YEAR})?\b", t
    ):
        quarter = int(m.group(1)) if m.group(1).isdigit() else ORDINALS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and date(year, quarter * 3 - 2, 1) > today:
            year -= 1
        start = date(year, quarter * 3 - 2, 1)
        return Period(start, min(_month_end(year, quarter * 3), max(today, start)), f"Q{quarter} {year}")
    if re.search(r"\bthis quarter\b", t):
        quarter = (today.month - 1) // 3 + 1
        return Period(date(today.year, quarter * 3 - 2, 1), today, f"Q{quarter} {today.year}")
    if re.search(r"\blast quarter\b|\bprevious quarter\b", t):
        quarter, year = (today.month - 1) // 3, today.year
        if quarter == 0:
            quarter, year = 4, year - 1
        return Period(date(year, quarter * 3 - 2, 1), _month_end(year, quarter * 3), f"Q{quarter} {year}")
    if re.search(r"\bthis year\b|\byear to date\b|\bytd\b|\bso far this year\b", t):
        return Period(date(today.year, 1, 1), today, "this year")
    if re.search(r"\blast year\b|\bprevious year\b", t):
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")
    if m := re.search(rf"\b(?:in |during |for )?{MONTH} {YEAR}\b", t):
        month, year = MONTHS[m.group(1)], int(m.group(2))
        return _month_period(year, month, f"{calendar.month_name[month]} {year}", today)
    if m := re.search(rf"\b(?:in|during|for|of) {MONTH}\b", t):
        month = MONTHS[m.group(1)]
        year = today.year if month <= today.month else today.year - 1
        return _month_period(year, month, f"{calendar.month_name[month]} {year}", today)
    if m := re.search(r"\b(?:in|during|for) (20\d{2})\b", t):
        year = int(m.group(1))
        return Period(date(year, 1, 1), min(date(year, 12, 31), max(today, date(year, 1, 1))), str(year))
    return None
