"""Parser alone, router alone and router then parser, measured on the same questions.

Two sets of questions:

- the data-question evaluation (``assistant.eval.data``), both its splits, each answer judged
  against its hand-written SQL exactly as that evaluation judges the parser's;
- the router-style split: questions made from the router templates held out of training
  (``assistant.router.dataset``, one template in five per family), each with the route its
  template was written for. An answer is exact when the query it ran gives the same figures
  (the same metric, dates and values, rows or list) as the intended query run by the same
  executor; that split tests the reading of the question, the SQL evaluation tests the rest.

Each question's router output is decoded once, in this process by the inference worker's own
code (``decoding.router_text_in_process``), and reused by both router columns; a router
column's time per question is that decoding plus its planning and the query.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction

from assistant.eval import data as data_eval
from assistant.router.dataset import RouterPair, practice_vocabulary, router_pairs
from assistant.router.outputs import read_output
from assistant.router.planning import plan_with_router
from assistant.tools.planner import Plan, plan_from_parser
from assistant.tools.toolset import TOOLS, ToolContext, ToolError

COLUMNS = ("parser", "router", "router then parser")
ROUTER_SPLIT = "router held-out templates"
ROUTER_SPLIT_COUNT = 300

Decoder = Callable[..., str]


@dataclass
class ColumnFigures:
    exact: int = 0
    wrong: int = 0
    total: int = 0
    seconds: list[float] = field(default_factory=list)
    wrong_examples: list[str] = field(default_factory=list)

    def add(self, result: str, seconds: float, detail: str = "") -> None:
        self.total += 1
        self.exact += result == "exact"
        if result == "wrong":
            self.wrong += 1
            self.wrong_examples.append(detail)
        self.seconds.append(seconds)

    @property
    def exactness(self) -> float:
        return self.exact / self.total if self.total else 0.0

    def quantile(self, q: float) -> float:
        times = sorted(self.seconds)
        return times[min(len(times) - 1, int(q * len(times)))] if times else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "total": self.total,
            "exactness": round(self.exactness, 4),
            "wrong": self.wrong,
            "median_s": round(self.quantile(0.5), 4),
            "p95_s": round(self.quantile(0.95), 4),
        }


@dataclass
class RouterEvaluation:
    version: str
    splits: dict[str, dict[str, ColumnFigures]] = field(default_factory=dict)
    invalid_outputs: int = 0
    outputs: int = 0

    def column(self, split: str, column: str) -> ColumnFigures:
        return self.splits.setdefault(split, {name: ColumnFigures() for name in COLUMNS})[column]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "invalid_outputs": self.invalid_outputs,
            "outputs": self.outputs,
            "splits": {split: {c: f.as_dict() for c, f in columns.items()} for split, columns in self.splits.items()},
        }

    def markdown(self) -> str:
        lines = [
            "| split | questions | "
            + " | ".join(f"{c}: exact (wrong)" for c in COLUMNS)
            + " | "
            + " | ".join(f"{c}: median / p95 s" for c in COLUMNS)
            + " |",
            "| --- | ---: | " + " | ".join("---:" for _ in COLUMNS * 2) + " |",
        ]
        for split, columns in self.splits.items():
            figures = [columns[c] for c in COLUMNS]
            lines.append(
                f"| {split} | {figures[0].total} | "
                + " | ".join(f"{f.exact} = {100 * f.exactness:.1f}% ({f.wrong})" for f in figures)
                + " | "
                + " | ".join(f"{f.quantile(0.5):.3f} / {f.quantile(0.95):.3f}" for f in figures)
                + " |"
            )
        return "\n".join(lines)


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def _plans(question: str, *, user: Any, today: date, version: Any, decode: Decoder, report: RouterEvaluation):
    """The three plans for `question`, each with the seconds it took to make."""
    parsed, parse_s = _timed(lambda: plan_from_parser(question, user=user, today=today))
    text, decode_s = _timed(lambda: decode(question, version=version))
    report.outputs += 1
    report.invalid_outputs += not read_output(text).valid

    def cached(_question: str, *, version: Any) -> str:
        return text

    plans: dict[str, tuple[Plan, float]] = {"parser": (parsed, parse_s)}
    for column, alone in (("router", True), ("router then parser", False)):
        fresh = plan_from_parser(question, user=user, today=today)  # the plan is changed by its use
        started = time.perf_counter()
        plan = plan_with_router(question, fresh, user=user, today=today, version=version, decode=cached, alone=alone)
        seconds = time.perf_counter() - started
        plans[column] = (plan, decode_s + seconds + (parse_s if not alone else 0.0))
    return plans


def _answer(plan: Plan, user: Any, today: date) -> tuple[Any, float]:
    from assistant.chat.data_answers import run_plan
    from assistant.chat.drafts import Draft

    draft = Draft()
    started = time.perf_counter()
    with transaction.atomic():
        if plan.route != "knowledge":
            run_plan(plan, ToolContext(user=user, today=today), draft)
        transaction.set_rollback(True)
    return draft, time.perf_counter() - started


def _data_questions(
    report: RouterEvaluation, *, users: dict[str, Any], today: date, version: Any, decode: Decoder, split: str | None
) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            data_eval._create_views(cursor)
            for item in data_eval.data_questions():
                if split is not None and item["split"] != split:
                    continue
                user = users[item["user"]]
                plans = _plans(item["question"], user=user, today=today, version=version, decode=decode, report=report)
                for column, (plan, plan_s) in plans.items():
                    draft, run_s = _answer(plan, user, today)
                    result, detail = data_eval._judge(item, draft, cursor)
                    report.column(f"data questions: {item['split']}", column).add(
                        result, plan_s + run_s, f"{item['question']!r}: {detail}"
                    )
        transaction.set_rollback(True)


def _figures(data: dict[str, Any] | None) -> Any:
    """What must agree for two answers to give the same figures."""
    if data is None:
        return None
    if "metric" not in data:  # a listing
        return {key: value for key, value in data.items() if key not in ("query", "scope")}
    period = data.get("period") or {}
    compare = data.get("compare") or {}
    return (
        data.get("metric"),
        period.get("start"),
        period.get("end"),
        data.get("value"),
        data.get("rows"),
        compare.get("value"),
    )


def _intended(pair: RouterPair, user: Any, today: date) -> Any:
    reading = read_output(pair.completion)
    with transaction.atomic():
        try:
            result = TOOLS[reading.tool].call(ToolContext(user=user, today=today), reading.arguments)
        except ToolError:
            result = None
        transaction.set_rollback(True)
    return _figures(result.data) if result is not None else None


def _judge_pair(pair: RouterPair, draft: Any, truth: Any) -> tuple[str, str]:
    from assistant.models import AssistantMessage

    kind = draft.kind
    Kind = AssistantMessage.Kind
    route = pair.output.get("route", "query")
    if route in ("knowledge", "ask_back"):
        if kind == Kind.DATA:
            return "wrong", "answered with a figure"
        if route == "knowledge":
            return ("exact", "") if kind == Kind.KNOWLEDGE else ("missed", f"answered as {kind}")
        return ("exact", "") if kind in (Kind.CLARIFICATION, Kind.REFUSAL) else ("missed", "sent to knowledge")
    if kind != Kind.DATA:
        return "missed", f"answered as {kind}"
    got = _figures(data_eval._tool_data(draft))
    if got != truth:
        return "wrong", f"{got} != {truth}"
    return "exact", ""


def _router_split(
    report: RouterEvaluation, *, user: Any, today: date, version: Any, decode: Decoder, count: int
) -> list[RouterPair]:
    pairs = router_pairs(vocabulary=practice_vocabulary(), split="held_out", count=count, today=today)
    for pair in pairs:
        truth = (
            _intended(pair, user, today)
            if "route" not in pair.output
            or pair.output["route"]
            not in (
                "knowledge",
                "ask_back",
            )
            else None
        )
        plans = _plans(pair.question, user=user, today=today, version=version, decode=decode, report=report)
        for column, (plan, plan_s) in plans.items():
            draft, run_s = _answer(plan, user, today)
            result, detail = _judge_pair(pair, draft, truth)
            report.column(ROUTER_SPLIT, column).add(result, plan_s + run_s, f"{pair.question!r}: {detail}")
    return pairs


def evaluate_router(
    *,
    version: Any,
    users: dict[str, Any],
    today: date = data_eval.FIXED_TODAY,
    decode: Decoder | None = None,
    router_split_count: int = ROUTER_SPLIT_COUNT,
    data_questions: bool = True,
    data_split: str | None = None,
) -> RouterEvaluation:
    """The three columns on the data-question evaluation (both splits, unless `data_questions`
    is false; one split with `data_split`) and on the router-style held-out split. Writes nothing."""
    from assistant.router.decoding import router_text_in_process

    decode = decode or router_text_in_process
    report = RouterEvaluation(version=version.name)
    if data_questions:
        _data_questions(report, users=users, today=today, version=version, decode=decode, split=data_split)
    _router_split(report, user=users["manager"], today=today, version=version, decode=decode, count=router_split_count)
    return report
