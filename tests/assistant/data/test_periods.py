"""Periods as staff write them, resolved against a fixed today (Wednesday 18 November 2026)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.tools.periods import (
    Period,
    PeriodProblem,
    find_periods,
    parse_period,
    previous_period,
    resolve_period,
    same_period_last_year,
)

TODAY = date(2026, 11, 18)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("last month", date(2026, 10, 1), date(2026, 10, 31)),
        ("the last full calendar month", date(2026, 10, 1), date(2026, 10, 31)),
        ("the previous month", date(2026, 10, 1), date(2026, 10, 31)),
        ("month to date", date(2026, 11, 1), TODAY),
        ("year to date", date(2026, 1, 1), TODAY),
        ("since the start of the year", date(2026, 1, 1), TODAY),
        ("so far this year", date(2026, 1, 1), TODAY),
        ("this financial year", date(2026, 4, 6), TODAY),
        ("last financial year", date(2025, 4, 6), date(2026, 4, 5)),
        ("FY 2025/26", date(2025, 4, 6), date(2026, 4, 5)),
        ("the past 90 days", date(2026, 8, 21), TODAY),
        ("the last 12 months", date(2025, 11, 19), TODAY),
        ("the last 3 full months", date(2026, 8, 1), date(2026, 10, 31)),
        ("last week", date(2026, 11, 9), date(2026, 11, 15)),
        ("the past week", date(2026, 11, 12), TODAY),
        ("the week before last", date(2026, 11, 2), date(2026, 11, 8)),
        ("yesterday", date(2026, 11, 17), date(2026, 11, 17)),
        ("Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("Q4", date(2026, 10, 1), TODAY),
        ("the first quarter of this year", date(2026, 1, 1), date(2026, 3, 31)),
        ("Q3 last year", date(2025, 7, 1), date(2025, 9, 30)),
        ("H1 2026", date(2026, 1, 1), date(2026, 6, 30)),
        ("in March", date(2026, 3, 1), date(2026, 3, 31)),
        ("in December", date(2025, 12, 1), date(2025, 12, 31)),
        ("March 2025", date(2025, 3, 1), date(2025, 3, 31)),
        ("between 3 March and 9 April", date(2026, 3, 3), date(2026, 4, 9)),
        ("from March to May", date(2026, 3, 1), date(2026, 5, 31)),
        ("from November to February", date(2025, 11, 1), date(2026, 2, 28)),
        ("1-15 March", date(2026, 3, 1), date(2026, 3, 15)),
        ("since 1 May", date(2026, 5, 1), TODAY),
        ("last year", date(2025, 1, 1), date(2025, 12, 31)),
        ("in 2025", date(2025, 1, 1), date(2025, 12, 31)),
        ("over Christmas", date(2025, 12, 24), date(2025, 12, 26)),
        ("Easter", date(2026, 4, 3), date(2026, 4, 6)),
        ("on Black Friday last year", date(2025, 11, 28), date(2025, 11, 28)),
        ("3 months ago", date(2026, 8, 1), date(2026, 8, 31)),
        ("on 07/11/2026", date(2026, 11, 7), date(2026, 11, 7)),
        ("on the 3rd of October", date(2026, 10, 3), date(2026, 10, 3)),
        ("on October 24th", date(2026, 10, 24), date(2026, 10, 24)),
        ("the week of 9 November", date(2026, 11, 9), date(2026, 11, 15)),
        ("in the fall", date(2026, 9, 1), TODAY),
        ("last summer", date(2026, 6, 1), date(2026, 8, 31)),
    ],
)
def test_periods_resolve_against_a_fixed_today(text, start, end):
    period = parse_period(text, today=TODAY)
    assert period is not None, text
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("on 31 February", "There is no 31 February 2026."),
        ("on 30/02/2026", "no such day"),
        ("in the last 99999999 days", "goes back further than any records"),
        ("between 9 April 2026 and 3 March 2026", "ends before it starts"),
        ("in the last month", "Did you mean October 2026"),
        ("Q1 2027", "hasn't started yet"),
    ],
)
def test_a_period_that_cannot_be_read_is_a_question_back_not_another_period(text, says):
    (match,) = find_periods(text, today=TODAY)
    assert isinstance(match.result, PeriodProblem)
    assert says in match.result.question()


def test_a_question_without_a_period_has_none_and_a_lens_index_is_not_a_date():
    assert find_periods("What is the difference between 1.67 and 1.74 index lenses?", today=TODAY) == []


def test_the_financial_year_start_is_a_setting(settings):
    settings.OPTIQ_FINANCIAL_YEAR_START = "01-01"
    period = resolve_period("this financial year", today=TODAY)
    assert isinstance(period, Period) and period.start == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("start", "end", "before"),
    [
        ((2026, 10, 1), (2026, 10, 31), ((2026, 9, 1), (2026, 9, 30))),  # a month: the month before
        ((2026, 11, 1), (2026, 11, 18), ((2026, 10, 1), (2026, 10, 18))),  # month to date: like for like
        ((2026, 11, 16), (2026, 11, 18), ((2026, 11, 9), (2026, 11, 11))),  # week to date
        ((2026, 7, 1), (2026, 9, 30), ((2026, 4, 1), (2026, 6, 30))),  # a quarter
        ((2026, 10, 1), (2026, 11, 18), ((2026, 7, 1), (2026, 8, 18))),  # quarter to date
        ((2026, 10, 20), (2026, 11, 18), ((2026, 9, 20), (2026, 10, 19))),  # 30 days: the 30 before
    ],
)
def test_the_period_before_is_like_for_like(start, end, before):
    earlier = previous_period(Period(date(*start), date(*end), ""))
    assert (earlier.start, earlier.end) == (date(*before[0]), date(*before[1]))


def test_the_same_period_last_year_keeps_the_days():
    earlier = same_period_last_year(Period(date(2026, 11, 1), date(2026, 11, 18), ""))
    assert (earlier.start, earlier.end) == (date(2025, 11, 1), date(2025, 11, 18))
