"""Periods in questions, as staff write them, resolved to inclusive dates against a given today.

A small grammar of English period expressions: relative ones ("last month", "the last full
calendar month", "month to date", "since the start of the year", "the past 90 days", "the week
before last", "3 months ago"), calendar ones ("in March" = the most recent March, "March 2025",
"Q1", "the first quarter of this year", "H1 2026", "last year", "2025"), UK financial years
(from settings.OPTIQ_FINANCIAL_YEAR_START, 6 April by default: "this financial year", "FY
2025/26"), ranges ("between 3 March and 9 April", "from March to May", "1-15 March", "since 1
May") and a few holidays ("over Christmas", "Easter", "Black Friday"). Single dates inside them
("3rd of March", "03/04/2026", "March 3 2025") are read by dateparser, day-first as in the UK.

Definitions: weeks run Monday to Sunday; "last week" is the previous Monday-Sunday while "the
past week" is the seven days to today; "the last N days/weeks/months/years" are rolling and end
today; "this month/quarter/year" run to today; a month or quarter named without a year is the
most recent one (the current one counts, up to today). Christmas is 24-26 December, Easter Good
Friday to Easter Monday; spring, summer, autumn (fall) and winter are March-May, June-August,
September-November and December-February.

``find_periods`` returns every period phrase it recognises with its span, and a PeriodProblem
(a question back, with a suggestion when there is an obvious one) for a phrase that is clearly
a period but cannot be read (31 February, the last 99999999 days, between 9 April and 3 March of
the same year, "the last month", which may mean either of two periods).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from dateutil.easter import easter

MONTH_NAMES = [name.lower() for name in calendar.month_name]
MONTHS = {name: index for index, name in enumerate(MONTH_NAMES) if name}
MONTHS.update({name.lower(): index for index, name in enumerate(calendar.month_abbr) if name})
MONTHS.update({"sept": 9, "jun": 6, "jul": 7})
MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
# "may" is also a verb: as a month it needs a day, a year or a preposition next to it.
MONTH_NOT_MAY = MONTH.replace("|may|", "|")
DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
YEAR = r"((?:19|20)\d{2})"
SHORT_YEAR = r"'(\d{2})"
WEEKDAYS = {name.lower(): index for index, name in enumerate(calendar.day_name)}
WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "eighteen": 18,
    "twenty": 20,
    "twenty-four": 24,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
    "couple of": 2,
    "a couple of": 2,
}
NUMBER = r"(\d+|a couple of|couple of|twenty-four|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|eighteen|twenty|thirty|sixty|ninety)"
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "last": 4}
UNIT = r"(day|week|fortnight|month|quarter|year)s?"
# Anything further back than this is not a period of the practice's trading.
EARLIEST = date(1990, 1, 1)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def words(self) -> str:
        """The dates in words: "1–31 October 2026", "3 March – 9 April 2026", "18 November 2026"."""
        return dates_in_words(self.start, self.end)

    def describe(self) -> str:
        """The label and the dates: "last month (1–31 October 2026)"."""
        words = self.words()
        return words if self.label in ("", words) else f"{self.label} ({words})"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class PeriodProblem:
    """A period phrase that cannot be read as it stands: ask back (with ``suggestion`` if any)."""

    phrase: str
    message: str
    suggestion: Period | None = None

    def question(self) -> str:
        if self.suggestion is not None:
            return f"{self.message} Did you mean {self.suggestion.words()}?"
        return self.message


@dataclass(frozen=True)
class PeriodMatch:
    start: int  # span in the normalised text
    end: int
    phrase: str
    result: Period | PeriodProblem
    via: str = "grammar"  # or "dateparser" when a single date inside it was read by dateparser


def dates_in_words(start: date, end: date) -> str:
    def day_month(day: date) -> str:
        return f"{day.day} {calendar.month_name[day.month]}"

    if start == end:
        return f"{day_month(start)} {start.year}"
    if start.year == end.year and start.month == end.month:
        return f"{start.day}–{end.day} {calendar.month_name[end.month]} {end.year}"
    if start.year == end.year:
        return f"{day_month(start)} – {day_month(end)} {end.year}"
    return f"{day_month(start)} {start.year} – {day_month(end)} {end.year}"


def normalise(text: str) -> str:
    """Lower case, plain quotes and dashes, no sentence punctuation, single spaces."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s*[–—]\s*", " - ", text)
    text = re.sub(r"[?!;:,()\"]", " ", text)
    text = re.sub(r"\.(?=\s|$)", " ", text)
    return " " + re.sub(r"\s+", " ", text).strip() + " "


# --- calendar arithmetic --------------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _upto(start: date, end: date, today: date) -> date:
    """A running period ends today."""
    return min(end, max(today, start))


def month_period(year: int, month: int, today: date, label: str | None = None) -> Period:
    start = date(year, month, 1)
    return Period(start, _upto(start, month_end(year, month), today), label or f"{calendar.month_name[month]} {year}")


def most_recent_month(month: int, today: date) -> int:
    return today.year if month <= today.month else today.year - 1


def quarter_period(year: int, quarter: int, today: date) -> Period:
    start = date(year, quarter * 3 - 2, 1)
    return Period(start, _upto(start, month_end(year, quarter * 3), today), f"Q{quarter} {year}")


def financial_year_start_day() -> tuple[int, int]:
    from django.conf import settings

    month, day = (int(part) for part in str(settings.OPTIQ_FINANCIAL_YEAR_START).split("-"))
    return month, day


def financial_year(first_year: int, today: date) -> Period:
    month, day = financial_year_start_day()
    start = date(first_year, month, day)
    end = date(first_year + 1, month, day) - timedelta(days=1)
    return Period(start, _upto(start, end, today), f"financial year {first_year}/{str(first_year + 1)[-2:]}")


def financial_year_of(day: date) -> int:
    month, first = financial_year_start_day()
    return day.year if (day.month, day.day) >= (month, first) else day.year - 1


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def previous_period(period: Period) -> Period:
    """The period just before, like for like: a whole week, month, quarter or (financial) year is
    compared with the one before it; one running to date with the same days of the one before
    ("this week so far" with Monday to the same weekday of last week); any other period with the
    same number of days just before it."""
    start, end = period.start, period.end
    fy_month, fy_day = financial_year_start_day()
    units = [
        ("week", start.weekday() == 0, start + timedelta(days=6)),
        ("month", start.day == 1, month_end(start.year, start.month)),
        ("quarter", start.day == 1 and start.month % 3 == 1, add_months(start, 3) - timedelta(days=1)),
        ("financial year", (start.month, start.day) == (fy_month, fy_day), _back_years(start, -1) - timedelta(days=1)),
        ("year", (start.month, start.day) == (1, 1), date(start.year, 12, 31)),
    ]
    for name, aligned, unit_end in units:  # the smallest unit that the period starts and fits in
        if aligned and end <= unit_end:
            before_start = _shift(start, name)
            before_end = (
                _unit_end(before_start, name)
                if end == unit_end
                else min(_shift(end, name), before_start + (end - start))
            )
            return Period(before_start, before_end, f"the {name} before")
    days = period.days
    return Period(start - timedelta(days=days), start - timedelta(days=1), "the period before")


def _shift(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=7)
    if unit == "month":
        return add_months(day, -1)
    if unit == "quarter":
        return add_months(day, -3)
    return _back_years(day, 1)


def _back_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _unit_end(start: date, unit: str) -> date:
    """The last day of the week, month, quarter or year that starts on `start`."""
    if unit == "week":
        return start + timedelta(days=6)
    if unit == "month":
        return month_end(start.year, start.month)
    if unit == "quarter":
        return add_months(start, 3) - timedelta(days=1)
    if unit == "financial year":
        return _back_years(start, -1) - timedelta(days=1)
    return date(start.year, 12, 31)


def same_period_last_year(period: Period) -> Period:
    def back(day: date) -> date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day.replace(year=day.year - 1, day=28)

    return Period(back(period.start), back(period.end), "the same period last year")


# --- single dates -----------------------------------------------------------------------------------


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def _impossible(day: int, month: int, year: int, phrase: str, today: date) -> PeriodProblem:
    """No such day: suggest the whole month it was meant to be in."""
    suggestion = month_period(year, month, today)
    return PeriodProblem(phrase, f"There is no {day} {calendar.month_name[month]} {year}.", suggestion)


def day_of(day: int, month: int, year: int | None, today: date, phrase: str) -> date | PeriodProblem:
    """A day and month (and maybe a year); without a year, the most recent such day."""
    if not 1 <= month <= 12:
        return PeriodProblem(phrase, f"I couldn't read the date “{phrase.strip()}”.")
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            return _impossible(day, month, year, phrase, today)
    year = most_recent_month(month, today)
    if date(year, month, 1) <= today < date(year, month, min(day, 28)):
        year -= 1  # later this month: last year's
    try:
        candidate = date(year, month, day)
    except ValueError:
        return _impossible(day, month, year, phrase, today)
    return candidate if candidate <= today else date(year - 1, month, day)


def read_date(phrase: str, today: date) -> tuple[date | PeriodProblem, str]:
    """A written date (3rd of March, March 3 2025, 03/04/2026, 2026-03-04) through dateparser,
    day-first; the year, when not written, is the most recent one (checked here, so that an
    impossible date is asked back rather than moved to another year)."""
    import dateparser

    text = phrase.strip()
    numeric = re.fullmatch(r"(\d{1,4})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?", text)
    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past", "REQUIRE_PARTS": ["day", "month"]},
    )
    year_written = bool(re.search(r"\b(?:19|20)\d{2}\b|'\d{2}\b", text)) or bool(numeric and numeric.group(3))
    if parsed is None:
        words = re.fullmatch(rf"{DAY}(?: of)? {MONTH}(?: {YEAR})?|{MONTH} {DAY}(?: {YEAR})?", text)
        if words:
            groups = words.groups()
            day_text, month_text, year_text = (
                (groups[0], groups[1], groups[2]) if groups[0] else (groups[4], groups[3], groups[5])
            )
            return (
                day_of(int(day_text), MONTHS[month_text], int(year_text) if year_text else None, today, phrase),
                "grammar",
            )
        if numeric and numeric.group(3):
            return PeriodProblem(phrase, f"I couldn't read the date “{text}”: there is no such day."), "dateparser"
        return PeriodProblem(phrase, f"I couldn't read the date “{text}”."), "dateparser"
    if year_written:
        return parsed.date(), "dateparser"
    return day_of(parsed.day, parsed.month, None, today, phrase), "dateparser"


# --- the grammar -------------------------------------------------------------------------------------

Result = Period | PeriodProblem
# A rule may decline its match (None): "may" the verb is not the month.
Handler = Callable[[re.Match[str], date], Result | None]
RULES: list[tuple[re.Pattern[str], Handler]] = []


RuleHandler = TypeVar("RuleHandler", bound=Handler)


def rule(pattern: str) -> Callable[[RuleHandler], RuleHandler]:
    def add(handler: RuleHandler) -> RuleHandler:
        RULES.append((re.compile(pattern), handler))
        return handler

    return add


DATE_WORDS = rf"(?:{DAY}(?: of)? {MONTH}(?: {YEAR})?|{MONTH} {DAY}(?:st|nd|rd|th)?(?: {YEAR})?)"
# "1.67" is a lens index, not a date: a date with dots needs its year.
NUMERIC_DATE = r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\.\d{1,2}\.\d{2,4})"
A_DATE = rf"(?:the )?(?:{DATE_WORDS}|{NUMERIC_DATE})"
MONTH_YEAR = rf"{MONTH}(?: {YEAR}| {SHORT_YEAR})?"


def _date_or_problem(text: str, today: date) -> date | PeriodProblem:
    return read_date(re.sub(r"^the ", "", text.strip()), today)[0]


def _month_of(text: str, today: date, *, as_end: bool = False) -> Period | None:
    match = re.fullmatch(rf"{MONTH}(?: ({YEAR[1:-1]})| '(\d{{2}}))?", text.strip())
    if not match:
        return None
    month = MONTHS[match.group(1)]
    if match.group(2):
        year = int(match.group(2))
    elif match.group(3):
        year = 2000 + int(match.group(3))
    else:
        year = most_recent_month(month, today)
    return month_period(year, month, today)


@rule(rf"\b(?:between|from) (?P<a>{A_DATE}) (?:and|to|until|till|through|thru|-) (?P<b>{A_DATE})\b")
def _between_dates(m: re.Match[str], today: date) -> Result:
    return _date_range(m.group("a"), m.group("b"), m.group(0), today)


@rule(rf"\b(?P<a>{A_DATE}) (?:to|until|till|through|thru|-) (?P<b>{A_DATE})\b")
def _dates_to(m: re.Match[str], today: date) -> Result:
    return _date_range(m.group("a"), m.group("b"), m.group(0), today)


def _date_range(first: str, second: str, phrase: str, today: date) -> Result:
    end_day = _date_or_problem(second, today)
    if isinstance(end_day, PeriodProblem):
        return end_day
    year_in_first = re.search(r"\b(?:19|20)\d{2}\b", first) or re.fullmatch(r"\s*\d{4}-.*|.*[/.]\d{2,4}\s*", first)
    start_text = first.strip()
    start_day: date | PeriodProblem
    if not year_in_first and re.search(r"\b(?:19|20)\d{2}\b", second):
        # "3 March to 9 April 2025": the year belongs to both.
        start_day = _date_or_problem(f"{start_text} {end_day.year}", today)
    else:
        start_day = _date_or_problem(start_text, today)
    if isinstance(start_day, PeriodProblem):
        return start_day
    if not year_in_first and start_day > end_day:
        wrapped = start_day.replace(year=start_day.year - 1) if start_day.year >= end_day.year else start_day
        # "20 December to 5 January" crosses the new year; "20 May to 2 May" is written backwards
        # (read as crossing a year it would be a figure for eleven months nobody asked about).
        if start_day.month != end_day.month and (end_day - wrapped).days <= 183:
            start_day = wrapped
    return _range(start_day, end_day, phrase)


def _range(start: date, end: date, phrase: str) -> Result:
    if end < start:
        return PeriodProblem(
            phrase,
            f"“{phrase.strip()}” ends before it starts.",
            Period(end, start, dates_in_words(end, start)),
        )
    return Period(start, end, dates_in_words(start, end))


@rule(
    rf"\b(?:between |from )?(?:the )?(\d{{1,2}})(?:st|nd|rd|th)? ?(?:-|to|and|until|till) ?(?:the )?(\d{{1,2}})(?:st|nd|rd|th)?(?: of)? {MONTH}(?: {YEAR})?\b"
)
def _day_span(m: re.Match[str], today: date) -> Result:
    month = MONTHS[m.group(3)]
    year = int(m.group(4)) if m.group(4) else None
    last = day_of(int(m.group(2)), month, year, today, m.group(0))
    if isinstance(last, PeriodProblem):
        return last
    first = day_of(int(m.group(1)), month, last.year, today, m.group(0))
    if isinstance(first, PeriodProblem):
        return first
    return _range(first, last, m.group(0))


@rule(
    r"\b(?:between |from )?(?:the )?(\d{1,2})(?:st|nd|rd|th) (?:and|to|-|until|till) (?:the )?(\d{1,2})(?:st|nd|rd|th)(?: of)? (this|last) month\b"
)
def _days_of_month(m: re.Match[str], today: date) -> Result:
    month = today.replace(day=1) if m.group(3) == "this" else add_months(today.replace(day=1), -1)
    first = day_of(int(m.group(1)), month.month, month.year, today, m.group(0))
    last = day_of(int(m.group(2)), month.month, month.year, today, m.group(0))
    if isinstance(first, PeriodProblem):
        return first
    if isinstance(last, PeriodProblem):
        return last
    return _range(first, last, m.group(0))


# A year written alone ("2026 compared with 2025"); longer phrases with a year win over it.
@rule(r"(?<![£$/.\d-])\b((?:19|20)\d{2})\b(?![/.-]\d)")
def _bare_year(m: re.Match[str], today: date) -> Result:
    year = int(m.group(1))
    start = date(year, 1, 1)
    return Period(start, _upto(start, date(year, 12, 31), today), str(year))


@rule(rf"\b{MONTH} (\d{{1,2}})(?:st|nd|rd|th)? ?(?:-|to|until|till) ?(\d{{1,2}})(?:st|nd|rd|th)?(?: {YEAR})?\b")
def _month_day_span(m: re.Match[str], today: date) -> Result:
    month = MONTHS[m.group(1)]
    year = int(m.group(4)) if m.group(4) else None
    last = day_of(int(m.group(3)), month, year, today, m.group(0))
    if isinstance(last, PeriodProblem):
        return last
    first = day_of(int(m.group(2)), month, last.year, today, m.group(0))
    if isinstance(first, PeriodProblem):
        return first
    return _range(first, last, m.group(0))


@rule(
    rf"\b(?:between |from )(?:the start of |the beginning of )?(?P<a>{MONTH_YEAR}) (?:and|to|until|till|through|thru|-) (?:the end of )?(?P<b>{MONTH_YEAR})\b"
)
def _between_months(m: re.Match[str], today: date) -> Result:
    return _month_range(m.group("a"), m.group("b"), m.group(0), today)


@rule(rf"\b(?P<a>{MONTH_NOT_MAY}(?: {YEAR})?) (?:to|until|till|through|thru|-) (?P<b>{MONTH_YEAR})\b")
def _months_to(m: re.Match[str], today: date) -> Result:
    return _month_range(m.group("a"), m.group("b"), m.group(0), today)


@rule(rf"\b(?P<a>{MONTH}(?: {YEAR})?)[-–](?P<b>{MONTH_YEAR})\b")
def _months_dash(m: re.Match[str], today: date) -> Result:
    """ "jul-sep", "Jan–Mar 2026": a range of months written with a dash."""
    return _month_range(m.group("a"), m.group("b"), m.group(0), today)


def _month_range(first: str, second: str, phrase: str, today: date) -> Result:
    last = _month_of(second, today)
    if last is None:
        return PeriodProblem(phrase, f"I couldn't read “{phrase.strip()}”.")
    first_match = re.fullmatch(rf"{MONTH}(?: ({YEAR[1:-1]})| '(\d{{2}}))?", first.strip())
    assert first_match is not None
    month = MONTHS[first_match.group(1)]
    if first_match.group(2) or first_match.group(3):
        year = int(first_match.group(2)) if first_match.group(2) else 2000 + int(first_match.group(3))
    else:
        year = last.start.year if month <= last.start.month else last.start.year - 1
    start = date(year, month, 1)
    return _range(start, last.end, phrase)


@rule(
    r"\bsince (?:the )?(?:start|beginning) of (?:the |this )?(week|month|quarter|year|financial year|fiscal year|tax year)\b"
)
def _since_start(m: re.Match[str], today: date) -> Result:
    return _to_date(m.group(1), today)


@rule(
    r"\b(?:(?:so far )?this|the current) (week|month|quarter|year|calendar year|financial year|fiscal year|tax year|fy)(?: so far| to date)?\b"
)
def _this(m: re.Match[str], today: date) -> Result:
    return _to_date(m.group(1), today)


@rule(r"\b(?:(week|month|quarter|year|financial year|fiscal year|tax year)[- ]to[- ]date|(wtd|mtd|qtd|ytd|fytd))\b")
def _to_date_words(m: re.Match[str], today: date) -> Result:
    unit = (
        m.group(1)
        or {"wtd": "week", "mtd": "month", "qtd": "quarter", "ytd": "year", "fytd": "financial year"}[m.group(2)]
    )
    return _to_date(unit, today)


@rule(r"\bso far (?:this )?(week|month|quarter|year)\b|\bthe (week|month|quarter|year) (?:so far|to date)\b")
def _so_far(m: re.Match[str], today: date) -> Result:
    return _to_date(m.group(1) or m.group(2), today)


def _to_date(unit: str, today: date) -> Result:
    unit = "financial year" if unit == "fy" else unit
    if unit == "week":
        return Period(week_start(today), today, "this week")
    if unit == "month":
        return Period(today.replace(day=1), today, "this month")
    if unit == "quarter":
        quarter = (today.month - 1) // 3 + 1
        return Period(date(today.year, quarter * 3 - 2, 1), today, f"this quarter (Q{quarter} {today.year})")
    if unit in ("year", "calendar year"):
        return Period(date(today.year, 1, 1), today, "this year")
    fy = financial_year(financial_year_of(today), today)
    return Period(fy.start, today, f"this financial year ({fy.label[len('financial year ') :]})")


@rule(rf"\b(?:(?:in|during|for) )?(?:the )?(?:week (?:of|commencing|beginning|starting)|w/?c) (?P<d>{A_DATE})\b")
def _week_of(m: re.Match[str], today: date) -> Result:
    day = _date_or_problem(m.group("d"), today)
    if isinstance(day, PeriodProblem):
        return day
    start = week_start(day)
    return Period(
        start, min(start + timedelta(days=6), max(today, start)), f"the week of {dates_in_words(start, start)}"
    )


@rule(r"\b(?:the )?(?:last|previous|prior) (?:full |complete |whole )?(?:calendar )?month\b(?! to date)")
def _last_month(m: re.Match[str], today: date) -> Result:
    if m.group(0).startswith("the last") and not re.search(r"full|complete|whole|calendar", m.group(0)):
        calendar_month = add_months(today.replace(day=1), -1)
        rolling = Period(add_months(today, -1) + timedelta(days=1), today, "the last month")
        return PeriodProblem(
            m.group(0),
            f"Did you mean {calendar_month:%B %Y} ({dates_in_words(calendar_month, month_end(calendar_month.year, calendar_month.month))})"
            f" or the last month to today ({rolling.words()})?",
        )
    end = today.replace(day=1) - timedelta(days=1)
    return Period(end.replace(day=1), end, "last month")


@rule(r"\b(?:the )?(week|month|quarter|year) just gone\b")
def _unit_just_gone(m: re.Match[str], today: date) -> Result:
    """ "The month just gone": the last whole calendar unit before this one."""
    unit = m.group(1)
    if unit == "week":
        start = week_start(today) - timedelta(days=7)
        return Period(start, start + timedelta(days=6), "last week")
    if unit == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end, "last month")
    if unit == "quarter":
        return _last_quarter(m, today)
    return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), f"last year ({today.year - 1})")


@rule(r"\b(?:the )?month before last\b")
def _month_before_last(m: re.Match[str], today: date) -> Result:
    start = add_months(today.replace(day=1), -2)
    return Period(start, month_end(start.year, start.month), "the month before last")


@rule(r"\b(?:the )?(?:last|previous|prior) (?:full |complete |whole )?(?:calendar )?week\b")
def _last_week(m: re.Match[str], today: date) -> Result:
    if m.group(0).startswith("the last") and not re.search(r"full|complete|whole|calendar", m.group(0)):
        return Period(today - timedelta(days=6), today, "the last 7 days")
    start = week_start(today) - timedelta(days=7)
    return Period(start, start + timedelta(days=6), "last week")


@rule(r"\b(?:the )?week before last\b")
def _week_before_last(m: re.Match[str], today: date) -> Result:
    start = week_start(today) - timedelta(days=14)
    return Period(start, start + timedelta(days=6), "the week before last")


@rule(r"\b(?:the )?(?:last|previous|prior) (?:full |complete |whole )?(?:calendar )?quarter\b")
def _last_quarter(m: re.Match[str], today: date) -> Result:
    quarter, year = (today.month - 1) // 3, today.year
    if quarter == 0:
        quarter, year = 4, year - 1
    return quarter_period(year, quarter, today)


@rule(r"\b(?:the )?(?:last|previous|prior) (?:full |complete |whole )?(?:calendar )?year\b")
def _last_year(m: re.Match[str], today: date) -> Result:
    if m.group(0).startswith("the last") and not re.search(r"full|complete|whole|calendar", m.group(0)):
        return Period(add_months(today, -12) + timedelta(days=1), today, "the last 12 months")
    return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), f"last year ({today.year - 1})")


@rule(r"\b(?:the )?year before last\b")
def _year_before_last(m: re.Match[str], today: date) -> Result:
    year = today.year - 2
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


@rule(r"\b(?:the )?(?:last|previous|prior) (?:(?:financial|fiscal|tax) year|fy)\b")
def _last_financial_year(m: re.Match[str], today: date) -> Result:
    return financial_year(financial_year_of(today) - 1, today)


@rule(
    r"\b(?:fy|financial year|fiscal year|tax year) ?((?:19|20)\d{2})[/-](\d{2}|(?:19|20)\d{2})\b|\b((?:19|20)\d{2})[/-](\d{2}|(?:19|20)\d{2}) (?:financial|fiscal|tax) year\b"
)
def _named_financial_year(m: re.Match[str], today: date) -> Result:
    first = int(m.group(1) or m.group(3))
    second = m.group(2) or m.group(4)
    if int(second[-2:]) != (first + 1) % 100:
        return PeriodProblem(m.group(0), f"“{m.group(0).strip()}” is not a financial year I know.")
    return financial_year(first, today)


@rule(r"\bthe (?:past|last|previous|prior) (?:day|24 hours)\b")
def _past_day(m: re.Match[str], today: date) -> Result:
    return Period(today - timedelta(days=1), today, "the last day")


@rule(r"\bthe (?:past|last) (?:week|7 days|seven days)\b|\bthe past week\b")
def _past_week(m: re.Match[str], today: date) -> Result:
    return Period(today - timedelta(days=6), today, "the last 7 days")


@rule(r"\bthe past (month|year|fortnight|quarter)\b|\b(?:the last|(?:the )?past) (fortnight)\b")
def _past_unit(m: re.Match[str], today: date) -> Result:
    return _rolling(1, m.group(1) or m.group(2), today, m.group(0))


@rule(
    rf"\b(?:(?:in|over|during|for) )?(?:the )?(?:last|past|previous|prior|trailing) {NUMBER} (full |complete |whole |calendar )?{UNIT}\b"
)
def _last_n(m: re.Match[str], today: date) -> Result:
    count = _number(m.group(1))
    if count is None:
        return PeriodProblem(m.group(0), f"I couldn't tell how long “{m.group(0).strip()}” is.")
    if m.group(2):
        return _full_units(count, m.group(3), today, m.group(0))
    return _rolling(count, m.group(3), today, m.group(0))


@rule(rf"\b(?:month|week|day|quarter)s? of the (?:last|past) {NUMBER}\b")
def _of_the_last_n(m: re.Match[str], today: date) -> Result:
    unit = m.group(0).split()[0].rstrip("s")
    count = _number(m.group(1))
    if count is None:
        return PeriodProblem(m.group(0), f"I couldn't tell how long “{m.group(0).strip()}” is.")
    return _rolling(count, unit, today, m.group(0))


def _rolling(count: int, unit: str, today: date, phrase: str) -> Result:
    days = {"day": 1, "week": 7, "fortnight": 14}.get(unit)
    if count <= 0:
        return PeriodProblem(phrase, f"“{phrase.strip()}” is not a period.")
    span_days = count * (days or {"month": 31, "quarter": 92, "year": 366}[unit])
    if span_days > (today - EARLIEST).days:
        return PeriodProblem(
            phrase,
            f"“{phrase.strip()}” goes back further than any records.",
            Period(add_months(today, -12) + timedelta(days=1), today, "the last 12 months"),
        )
    if days is not None:
        start = today - timedelta(days=count * days - 1)
    else:
        months = count * {"month": 1, "quarter": 3, "year": 12}[unit]
        start = add_months(today, -months) + timedelta(days=1)
    plural = unit if count == 1 else f"{unit}s"
    return Period(start, today, f"the last {count} {plural}" if count != 1 else f"the last {plural}")


def _full_units(count: int, unit: str, today: date, phrase: str) -> Result:
    if count <= 0 or count > 240:
        return PeriodProblem(phrase, f"“{phrase.strip()}” is not a period I can use.")
    if unit == "month":
        end = today.replace(day=1) - timedelta(days=1)
        start = add_months(end.replace(day=1), -(count - 1))
        return Period(start, end, f"the last {count} full months")
    if unit == "week":
        end = week_start(today) - timedelta(days=1)
        return Period(end - timedelta(days=7 * count - 1), end, f"the last {count} full weeks")
    if unit == "quarter":
        quarter_start = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1)
        end = quarter_start - timedelta(days=1)
        return Period(add_months(quarter_start, -3 * count), end, f"the last {count} full quarters")
    if unit == "year":
        return Period(date(today.year - count, 1, 1), date(today.year - 1, 12, 31), f"the last {count} full years")
    end = today - timedelta(days=1)
    return Period(end - timedelta(days=count - 1), end, f"the last {count} full days")


@rule(rf"\b(?:the )?(?:next|coming|following) {NUMBER} {UNIT}\b")
def _next_n(m: re.Match[str], today: date) -> Result:
    count = _number(m.group(1)) or 0
    unit = m.group(2)
    if count <= 0 or count > 3650:
        return PeriodProblem(m.group(0), f"“{m.group(0).strip()}” is not a period I can use.")
    days = {"day": 1, "week": 7, "fortnight": 14}.get(unit)
    end = (
        today + timedelta(days=count * days - 1)
        if days
        else add_months(today, count * {"month": 1, "quarter": 3, "year": 12}[unit]) - timedelta(days=1)
    )
    return Period(today, end, f"the next {count} {unit}s" if count != 1 else f"the next {unit}")


@rule(r"\bnext (week|month|quarter|year)\b")
def _next_unit(m: re.Match[str], today: date) -> Result:
    unit = m.group(1)
    if unit == "week":
        start = week_start(today) + timedelta(days=7)
        return Period(start, start + timedelta(days=6), "next week")
    if unit == "month":
        start = add_months(today.replace(day=1), 1)
        return Period(start, month_end(start.year, start.month), "next month")
    if unit == "quarter":
        start = add_months(date(today.year, ((today.month - 1) // 3) * 3 + 1, 1), 3)
        return Period(start, add_months(start, 3) - timedelta(days=1), "next quarter")
    return Period(date(today.year + 1, 1, 1), date(today.year + 1, 12, 31), "next year")


@rule(rf"\b{NUMBER} {UNIT} ago\b")
def _ago(m: re.Match[str], today: date) -> Result:
    count = _number(m.group(1))
    unit = m.group(2)
    if count is None or count <= 0 or count > 100 * {"day": 365, "week": 52, "fortnight": 26}.get(unit, 12):
        return PeriodProblem(m.group(0), f"“{m.group(0).strip()}” is not a period I can use.")
    if unit == "day":
        day = today - timedelta(days=count)
        return Period(day, day, f"{count} days ago")
    if unit in ("week", "fortnight"):
        start = week_start(today) - timedelta(days=7 * count * (2 if unit == "fortnight" else 1))
        return Period(start, start + timedelta(days=6), f"the week {count} {unit}s ago")
    if unit == "month":
        start = add_months(today.replace(day=1), -count)
        return Period(start, month_end(start.year, start.month), f"{start:%B %Y}")
    if unit == "quarter":
        first = add_months(date(today.year, ((today.month - 1) // 3) * 3 + 1, 1), -3 * count)
        return quarter_period(first.year, (first.month - 1) // 3 + 1, today)
    year = today.year - count
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


@rule(rf"\bsince (?P<d>{A_DATE})\b")
def _since_date(m: re.Match[str], today: date) -> Result:
    start = _date_or_problem(m.group("d"), today)
    if isinstance(start, PeriodProblem):
        return start
    return Period(start, today, f"since {dates_in_words(start, start)}")


@rule(rf"\bsince (?:the )?(?:start of |beginning of )?(?P<m>{MONTH_YEAR})\b")
def _since_month(m: re.Match[str], today: date) -> Result:
    month = _month_of(m.group("m"), today)
    assert month is not None
    return Period(month.start, today, f"since {dates_in_words(month.start, month.start)}")


@rule(rf"\bsince (?:last )?{WEEKDAY}\b")
def _since_weekday(m: re.Match[str], today: date) -> Result:
    day = _last_weekday(WEEKDAYS[m.group(1)], today, strictly_before=True)
    return Period(day, today, f"since {m.group(1).title()} {dates_in_words(day, day)}")


@rule(r"\bsince (?:the )?(\d{1,2})(?:st|nd|rd|th)\b(?! of| [a-z]+ \d)")
def _since_the_nth(m: re.Match[str], today: date) -> Result:
    day = int(m.group(1))
    month = today if day <= today.day else add_months(today.replace(day=1), -1)
    start = day_of(day, month.month, month.year, today, m.group(0))
    if isinstance(start, PeriodProblem):
        return start
    return Period(start, today, f"since {dates_in_words(start, start)}")


@rule(r"\bon the (\d{1,2})(?:st|nd|rd|th)\b(?! of| [a-z]+ \d)")
def _on_the_nth(m: re.Match[str], today: date) -> Result:
    day = int(m.group(1))
    month = today if day <= today.day else add_months(today.replace(day=1), -1)
    found = day_of(day, month.month, month.year, today, m.group(0))
    if isinstance(found, PeriodProblem):
        return found
    return Period(found, found, dates_in_words(found, found))


@rule(r"\bsince (christmas|new year|easter|black friday|boxing day)\b")
def _since_holiday(m: re.Match[str], today: date) -> Result:
    holiday = _holiday(m.group(1), today)
    if isinstance(holiday, PeriodProblem):
        return holiday
    return Period(holiday.start, today, f"since {m.group(1).title()}")


def _last_weekday(weekday: int, today: date, *, strictly_before: bool = False) -> date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and strictly_before:
        back = 7
    return today - timedelta(days=back)


@rule(r"\bthe day before yesterday\b")
def _day_before_yesterday(m: re.Match[str], today: date) -> Result:
    day = today - timedelta(days=2)
    return Period(day, day, "the day before yesterday")


@rule(r"\byesterday\b")
def _yesterday(m: re.Match[str], today: date) -> Result:
    day = today - timedelta(days=1)
    return Period(day, day, "yesterday")


@rule(r"\b(?:so far )?today\b(?: so far)?")
def _today(m: re.Match[str], today: date) -> Result:
    return Period(today, today, "today")


@rule(r"\b(?:last |this past |over the |at the |this )?weekend\b")
def _weekend(m: re.Match[str], today: date) -> Result:
    saturday = _last_weekday(5, today, strictly_before=True)
    if saturday + timedelta(days=1) >= today:
        saturday -= timedelta(days=7)
    return Period(saturday, saturday + timedelta(days=1), "last weekend")


@rule(rf"\b(?:on |last |this (?:past )?)?{WEEKDAY}\b(?! \d)")
def _weekday(m: re.Match[str], today: date) -> Result:
    name = m.group(1)
    day = _last_weekday(WEEKDAYS[name], today, strictly_before=m.group(0).strip().startswith("last"))
    return Period(day, day, f"{name.title()} {dates_in_words(day, day)}")


@rule(rf"\b(?:on )?(?:a|any|every|each|an average) {WEEKDAY}\b|\b(?:on )?{WEEKDAY}s\b")
def _any_weekday(m: re.Match[str], today: date) -> Result:
    """ "On a Saturday", "Saturdays": every such day, which is not one period."""
    name = m.group(1) or m.group(2)
    day = _last_weekday(WEEKDAYS[name], today, strictly_before=False)
    return PeriodProblem(
        m.group(0),
        f"I give figures for a period, not for every {name.title()}.",
        Period(day, day, f"{name.title()} {dates_in_words(day, day)}"),
    )


@rule(
    r"\b(?:on |over |during |at |for |in )?(?:the )?(?P<named>christmas|xmas|boxing day|easter|black friday|summer|autumn|spring|winter) (?P<which>last|this) year\b"
    r"|\b(?:on |over |during |at |for |in )?(?:the |this |last )?(christmas eve|christmas day|christmas|xmas|boxing day|new year's eve|new years eve|new year's day|new years day|easter weekend|easter|black friday|the summer holidays|summer|autumn|spring|winter)\b(?: ((?:19|20)\d{2}))?"
    r"|\b(?:in |during |over |for |this |last )(?:the )?(fall)\b(?: ((?:19|20)\d{2}))?"
)
def _holiday_rule(m: re.Match[str], today: date) -> Result:
    if m.group("named"):
        # "Black Friday last year": that year's.
        year_asked = today.year - 1 if m.group("which") == "last" else today.year
        return _holiday(m.group("named"), today, year_asked)
    name = m.group(3) or m.group(5)
    year = m.group(4) or m.group(6)
    if " last " in f" {m.group(0).strip()} " and year is None:
        # "last summer": the most recent one that is over.
        recent = _holiday(name, today)
        if isinstance(recent, Period) and recent.end >= today:
            return _holiday(name, today, recent.start.year - 1)
        return recent
    return _holiday(name, today, int(year) if year else None)


def _holiday(name: str, today: date, year: int | None = None) -> Result:
    def most_recent(make: Callable[[int], Period]) -> Period:
        if year is not None:
            return make(year)
        candidate = make(today.year)
        return candidate if candidate.start <= today else make(today.year - 1)

    def span(start: date, end: date, label: str) -> Period:
        return Period(start, _upto(start, end, today), label)

    name = name.replace("xmas", "christmas").replace("new years", "new year's")
    makers: dict[str, Callable[[int], Period]] = {
        "christmas": lambda y: span(date(y, 12, 24), date(y, 12, 26), f"Christmas {y}"),
        "christmas eve": lambda y: span(date(y, 12, 24), date(y, 12, 24), f"Christmas Eve {y}"),
        "christmas day": lambda y: span(date(y, 12, 25), date(y, 12, 25), f"Christmas Day {y}"),
        "boxing day": lambda y: span(date(y, 12, 26), date(y, 12, 26), f"Boxing Day {y}"),
        "new year's eve": lambda y: span(date(y, 12, 31), date(y, 12, 31), f"New Year's Eve {y}"),
        "new year's day": lambda y: span(date(y, 1, 1), date(y, 1, 1), f"New Year's Day {y}"),
        "new year": lambda y: span(date(y, 1, 1), date(y, 1, 1), f"New Year's Day {y}"),
        "easter": lambda y: span(easter(y) - timedelta(days=2), easter(y) + timedelta(days=1), f"Easter {y}"),
        "easter weekend": lambda y: span(easter(y) - timedelta(days=2), easter(y) + timedelta(days=1), f"Easter {y}"),
        "black friday": lambda y: span(_black_friday(y), _black_friday(y), f"Black Friday {y}"),
        "summer": lambda y: span(date(y, 6, 1), date(y, 8, 31), f"summer {y} (June to August)"),
        "spring": lambda y: span(date(y, 3, 1), date(y, 5, 31), f"spring {y} (March to May)"),
        "autumn": lambda y: span(date(y, 9, 1), date(y, 11, 30), f"autumn {y} (September to November)"),
        "fall": lambda y: span(date(y, 9, 1), date(y, 11, 30), f"autumn {y} (September to November)"),
        "winter": lambda y: span(
            date(y, 12, 1), month_end(y + 1, 2), f"winter {y}/{str(y + 1)[-2:]} (December to February)"
        ),
        "the summer holidays": lambda y: span(date(y, 7, 20), date(y, 8, 31), f"the summer holidays {y}"),
    }
    return most_recent(makers[name])


def _black_friday(year: int) -> date:
    thursdays = [d for d in range(1, 31) if date(year, 11, d).weekday() == 3]
    return date(year, 11, thursdays[3] + 1)


@rule(rf"\b(?:on )?(?P<d>{A_DATE})\b")
def _on_date(m: re.Match[str], today: date) -> Result:
    day = _date_or_problem(m.group("d"), today)
    if isinstance(day, PeriodProblem):
        return day
    return Period(day, day, dates_in_words(day, day))


@rule(
    rf"\b(?:q([1-4])|quarter ([1-4])|(first|second|third|fourth|1st|2nd|3rd|4th|last) quarter)(?: of)?(?: (?:the |this )?(year|last year|{YEAR[1:-1]}|'\d{{2}}))?\b"
)
def _quarter(m: re.Match[str], today: date) -> Result:
    quarter = int(m.group(1) or m.group(2) or ORDINALS[m.group(3)])
    which = m.group(4)
    if which is None and m.group(3) == "last":
        return _last_quarter(m, today)
    if which in (None, "year"):
        year = today.year
        if which is None and date(year, quarter * 3 - 2, 1) > today:
            year -= 1
    elif which == "last year":
        year = today.year - 1
    elif which.startswith("'"):
        year = 2000 + int(which[1:])
    else:
        year = int(which)
    if date(year, quarter * 3 - 2, 1) > today:
        return PeriodProblem(
            m.group(0), f"Q{quarter} {year} hasn't started yet.", quarter_period(year - 1, quarter, today)
        )
    return quarter_period(year, quarter, today)


@rule(rf"\b(?:h([12])|(first|second|1st|2nd) half)(?: of)?(?: (?:the |this )?(year|last year|{YEAR[1:-1]}))?\b")
def _half(m: re.Match[str], today: date) -> Result:
    half = int(m.group(1)) if m.group(1) else (1 if m.group(2) in ("first", "1st") else 2)
    which = m.group(3)
    if which in (None, "year"):
        year = today.year if (half == 1 or today.month >= 7) else today.year - 1
    elif which == "last year":
        year = today.year - 1
    else:
        year = int(which)
    start = date(year, 1 if half == 1 else 7, 1)
    if start > today:
        return PeriodProblem(m.group(0), f"H{half} {year} hasn't started yet.")
    end = month_end(year, 6 if half == 1 else 12)
    return Period(start, _upto(start, end, today), f"H{half} {year}")


@rule(
    rf"\b(?:in |during |for |of |over )?(?:the month of )?(?:(last|this|next) )?{MONTH}('s)?(?: (last year|this year|((?:19|20)\d{{2}})|'(\d{{2}})))?\b"
)
def _month(m: re.Match[str], today: date) -> Result | None:
    month = MONTHS[m.group(2)]
    text = m.group(0).strip()
    if (
        m.group(2) == "may"
        and not re.match(r"(in|during|for|of|over|last|this|next|the month of) ", text)
        and not m.group(4)
    ):
        return None
    if m.group(5):
        year = int(m.group(5))
    elif m.group(6):
        year = 2000 + int(m.group(6))
    elif m.group(4) == "last year":
        year = today.year - 1
    elif m.group(4) == "this year" or m.group(1) == "this":
        year = today.year
    elif m.group(1) == "next":
        year = today.year if month > today.month else today.year + 1
    else:
        year = most_recent_month(month, today)
    return month_period(year, month, today)


@rule(
    r"\b(?:in |during |for |over |of |throughout )(?:the (?:calendar )?year )?((?:19|20)\d{2})\b(?![/-])|\bcalendar year ((?:19|20)\d{2})\b|\b((?:19|20)\d{2}) (?:as a whole|overall|in total)\b"
)
def _year(m: re.Match[str], today: date) -> Result:
    year = int(m.group(1) or m.group(2) or m.group(3))
    start = date(year, 1, 1)
    return Period(start, _upto(start, date(year, 12, 31), today), str(year))


# --- the entry points ----------------------------------------------------------------------------------

# Words that show a period was meant even when no rule read it.
TIME_WORDS = re.compile(
    r"\b(?:days?|weeks?|fortnights?|months?|quarters?|years?|yrs?|weekends?|ago|since|until|(?<!the )till|"
    r"between|season|term|half|fy|financial|fiscal|yesterday|tomorrow|tonight|morning|afternoon|evening|"
    r"christmas|easter|summer|winter|spring|autumn|holidays?|q[1-4]|h[12]|" + MONTH_NOT_MAY[1:-1] + r"|"
    r"(?:19|20)\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}\.\d{1,2}\.\d{2,4}|\d{1,2}(?:st|nd|rd|th))\b"
)


def _candidates(text: str, today: date) -> list[PeriodMatch]:
    found: list[tuple[int, int, int, Result]] = []
    for priority, (pattern, handler) in enumerate(RULES):
        for match in pattern.finditer(text):
            if not match.group(0).strip():
                continue
            result = handler(match, today)
            if result is None:
                continue
            found.append((match.start(), match.end(), priority, result))
    # The longest reading wins; among equals the earlier rule.
    found.sort(key=lambda item: (-(item[1] - item[0]), item[2]))
    chosen: list[PeriodMatch] = []
    for start, end, _, result in found:
        if any(start < other.end and other.start < end for other in chosen):
            continue
        if isinstance(result, Period) and (result.start < EARLIEST or result.end.year > today.year + 10):
            result = PeriodProblem(text[start:end], f"“{text[start:end].strip()}” is outside any records.")
        chosen.append(PeriodMatch(start, end, text[start:end], result))
    return sorted(chosen, key=lambda match: match.start)


def find_periods(text: str, *, today: date, normalised: bool = False) -> list[PeriodMatch]:
    """Every period phrase in `text` (normalised with ``normalise`` unless it already is), in order."""
    return _candidates(text if normalised else normalise(text), today)


def unread_time_words(text: str, matches: list[PeriodMatch]) -> list[str]:
    """Words outside the matched phrases that say a period was meant ("fortnight", "31/02")."""
    rest = text
    for match in sorted(matches, key=lambda m: -m.start):
        rest = rest[: match.start] + " " + rest[match.end :]
    return TIME_WORDS.findall(rest)


def resolve_period(words: str, *, today: date) -> Period | PeriodProblem:
    """A query's ``period`` in words, resolved: exactly one period phrase and nothing else of time."""
    text = normalise(words)
    matches = find_periods(text, today=today, normalised=True)
    if len(matches) == 1 and not unread_time_words(text, matches):
        return matches[0].result
    if len(matches) > 1:
        return PeriodProblem(words, f"“{words}” names more than one period.")
    return PeriodProblem(words, f"I couldn't tell which period “{words}” means.")


def parse_period(text: str, *, today: date) -> Period | None:
    """The one period a text names, or None (no period, several, or one that cannot be read)."""
    matches = find_periods(text, today=today)
    if len(matches) == 1 and isinstance(matches[0].result, Period):
        return matches[0].result
    return None


def describe_span(period: Period) -> dict[str, Any]:
    return {**period.as_dict(), "words": period.words()}
