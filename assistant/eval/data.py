"""Data-question evaluation: the assistant's figures against an independent raw SQL query.

The assistant answers through the planner, the tools and the practice selectors (which read
the daily sales rollup); the truth here is computed straight from sale lines and products
with SQL, so a wrong rollup, period or filter shows up as a mismatch. Exact means: the tool's
figure equals the SQL figure, and the answer text quotes it verbatim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection

from assistant.tools.planner import plan_deterministic
from assistant.tools.practice_tools import money
from assistant.tools.registry import TOOLS, ToolContext

QUESTIONS_FILE = Path(__file__).with_name("data_questions.jsonl")


@dataclass
class DataReport:
    total: int = 0
    exact: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exactness(self) -> float:
        return self.exact / self.total if self.total else 0.0


def data_questions() -> list[dict[str, str]]:
    with QUESTIONS_FILE.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _sql_sales(arguments: dict[str, Any]) -> tuple[int, Decimal]:
    filters = ["s.status = 'completed'", "s.sale_date BETWEEN %s AND %s"]
    params: list[Any] = [arguments["start"], arguments["end"]]
    if arguments.get("category"):
        filters.append("sl.category = %s")
        params.append(arguments["category"])
    if arguments.get("lens_type"):
        filters.append("sl.lens_type = %s")
        params.append(arguments["lens_type"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(sl.quantity), 0), COALESCE(SUM(sl.line_total), 0) "
            "FROM practice_saleline sl JOIN practice_sale s ON s.id = sl.sale_id WHERE " + " AND ".join(filters),
            params,
        )
        units, revenue = cursor.fetchone()
    return int(units), Decimal(revenue)


def _sql_low_stock(category: str | None) -> int:
    sql = "SELECT COUNT(*) FROM practice_product WHERE is_active AND quantity_on_hand <= reorder_level"
    params: list[Any] = []
    if category:
        sql += " AND category = %s"
        params.append(category)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def data_exactness(*, user: Any, today: date) -> DataReport:
    report = DataReport()
    for item in data_questions():
        report.total += 1
        plan = plan_deterministic(item["question"], user=user, today=today)
        problem = ""
        if plan.route != "tools" or len(plan.calls) != 1:
            problem = f"planned {plan.route}"
        else:
            call = plan.calls[0]
            result = TOOLS[call.name].call(ToolContext(user=user, today=today), call.arguments)
            if item["check"] in {"sales_units", "sales_revenue"}:
                units, revenue = _sql_sales(result.arguments)
                figures = [f"We sold {units} ", money(revenue)]
                if result.data["units"] != units or Decimal(result.data["revenue"]) != revenue:
                    problem = f"tool {result.data['units']}/{result.data['revenue']} != sql {units}/{revenue}"
            else:
                count = _sql_low_stock(result.arguments.get("category"))
                figures = [f"{count} "] if count else ["No "]
                if len(result.data["rows"]) != count:
                    problem = f"tool {len(result.data['rows'])} != sql {count}"
            if not problem and not all(f in result.text for f in figures):
                problem = f"figures {figures} not quoted in {result.text!r}"
        if problem:
            report.failures.append({"question": item["question"], "problem": problem})
        else:
            report.exact += 1
    return report
