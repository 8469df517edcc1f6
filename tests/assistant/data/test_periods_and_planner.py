from datetime import date

import pytest

from assistant.tools.periods import parse_period
from assistant.tools.planner import parse_category, parse_lens_type, parse_name, parse_sku, parse_tool_calls

TODAY = date(2026, 5, 20)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("How many did we sell last month?", date(2026, 4, 1), date(2026, 4, 30)),
        ("sales in March", date(2026, 3, 1), date(2026, 3, 31)),
        ("sales in December", date(2025, 12, 1), date(2025, 12, 31)),
        ("revenue this year", date(2026, 1, 1), TODAY),
        ("frames sold in Q2 2026", date(2026, 4, 1), TODAY),  # a running quarter ends today
        ("Q2 2025", date(2025, 4, 1), date(2025, 6, 30)),
        ("units in Q1", date(2026, 1, 1), date(2026, 3, 31)),
        ("since 1 May", date(2026, 5, 1), TODAY),
        ("since 1 June", date(2025, 6, 1), TODAY),
        ("this month", date(2026, 5, 1), TODAY),
        ("last week", date(2026, 5, 11), date(2026, 5, 17)),
        ("yesterday", date(2026, 5, 19), date(2026, 5, 19)),
        ("the last 7 days", date(2026, 5, 14), TODAY),
        ("last year", date(2025, 1, 1), date(2025, 12, 31)),
        ("between 1 March and 15 March", date(2026, 3, 1), date(2026, 3, 15)),
        ("in March 2025", date(2025, 3, 1), date(2025, 3, 31)),
    ],
)
def test_periods_resolve_against_a_fixed_today(text, start, end):
    period = parse_period(text, today=TODAY)
    assert (period.start, period.end) == (start, end)


def test_a_question_without_a_period_has_none():
    assert parse_period("What is the difference between 1.67 and 1.74 index lenses?", today=TODAY) is None


def test_categories_lens_types_skus_and_names_are_parsed():
    assert parse_category("Which frames are low on stock?") == "frame"
    assert parse_category("contact lenses sold") == "contact_lens"
    assert parse_lens_type("How many progressive lenses did we sell?") == "progressive"
    assert parse_lens_type("varifocals this year") == "progressive"
    assert parse_sku("How many FR-RB-5154 did we sell?") == "FR-RB-5154"
    assert parse_sku("1.67 and 1.74") is None
    assert parse_name("What is Jane Smith's latest prescription?") == "Jane Smith"
    assert parse_name("latest prescription for Olivia Brown") == "Olivia Brown"


def test_native_tool_calls_are_parsed_from_llama_style_replies():
    calls = parse_tool_calls(
        '<|python_tag|>{"name": "sales_summary", "parameters": {"period": "last month", "lens_type": "progressive"}}<|eom_id|>'
    )
    assert [(c.name, c.arguments) for c in calls] == [
        ("sales_summary", {"period": "last month", "lens_type": "progressive"})
    ]
    tagged = parse_tool_calls(
        '<tool_call>{"name": "low_stock", "arguments": "{\\"category\\": \\"frame\\"}"}</tool_call>'
    )
    assert [(c.name, c.arguments) for c in tagged] == [("low_stock", {"category": "frame"})]
    listed = parse_tool_calls(
        '[{"type": "function", "function": {"name": "lab_jobs_ready", "parameters": {}}}, {"name": "nope", "parameters": {}}]'
    )
    assert [c.name for c in listed] == ["lab_jobs_ready"]
    assert parse_tool_calls("Progressive lenses have a corridor.") == []
