"""Choosing tools for a question.

With a model that supports function calling, the model's own tool calls are used
(`native_tool_prompt` / `parse_tool_calls`). With one that does not (the default 270M base
model), `plan_deterministic` decides: keyword rules for each tool, the question's similarity
to the tools' descriptions to break ties, and parsers for periods, categories, lens types,
SKUs and names. Questions that are neither go to knowledge retrieval.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from assistant.tools import practice_tools  # noqa: F401  (registers the tools)
from assistant.tools.periods import parse_period
from assistant.tools.registry import TOOLS, Tool

SKU = re.compile(r"\b(?=[A-Z0-9-]*[A-Z])(?=[A-Z0-9-]*\d)[A-Z0-9]{1,10}(?:-[A-Z0-9]{1,12})+\b")
CATEGORY_WORDS = [
    ("contact_lens", r"contact lens(?:es)?|contacts|dailies|daily disposables?|monthlies"),
    ("frame", r"frames?|sunglass(?:es)?"),
    ("solution", r"solutions?|saline|multi-?purpose|peroxide"),
    ("accessory", r"accessor(?:y|ies)|cases?|cloths?|chains?|cords?"),
    ("spectacle_lens", r"spectacle lens(?:es)?|lens(?:es)?|varifocals?"),
]
LENS_TYPE_WORDS = [
    ("progressive", r"progressives?|varifocals?|pals?"),
    ("single_vision", r"single[- ]vision|sv"),
    ("bifocal", r"bifocals?"),
    ("occupational", r"occupational|office lens(?:es)?|computer lens(?:es)?"),
]
RULES: list[tuple[str, str]] = [
    (
        "product_cost",
        r"\bcost prices?\b|\bcosts?\b|\bmargins?\b|\bwholesale\b|\bwhat do we pay\b|\bbuy(?:ing)? price\b|\bmark-?up\b",
    ),
    (
        "low_stock",
        r"\blow (?:on )?stock\b|\blow-stock\b|\brunning (?:low|out)\b|\bout of stock\b|\bre-?order\b|\brestock\b|\bneed to order\b|\bstock (?:is )?low\b",
    ),
    (
        "lab_jobs_ready",
        r"\blab jobs?\b|\bready (?:for|to) (?:collect|collection|pick)|\bawaiting collection\b|\bwaiting to be collected\b|\bcollections?\b",
    ),
    ("recalls_due", r"\brecalls?\b|\bdue (?:for|an?) (?:eye )?(?:exam|test|check|aftercare)|\boverdue\b"),
    ("latest_prescription", r"\bprescription\b|\brx\b"),
    ("patient_lookup", r"\bpatients?\b|\blook up\b|\bfind\b|\bdate of birth\b|\bphone number\b"),
    (
        "top_sellers",
        r"\btop\b|\bbest[- ]?sell(?:ing|ers?)\b|\bmost popular\b|\bsold (?:the )?most\b|\bsell(?:s)? (?:the )?most\b",
    ),
    (
        "sales_summary",
        r"\bsell\b|\bsold\b|\bsales\b|\brevenue\b|\btakings\b|\bturnover\b|\bhow much did we (?:make|take)\b|\bunits\b",
    ),
    (
        "product_lookup",
        r"\bdo we (?:have|stock|sell)\b|\bin stock\b|\bhow much (?:is|are|does|do)\b|\bprice of\b|\bstock of\b|\bhow many .* (?:in stock|left|on hand)\b|\bwhat is the price\b",
    ),
]
NOT_NAMES = {
    "what",
    "how",
    "which",
    "who",
    "when",
    "where",
    "show",
    "find",
    "list",
    "give",
    "tell",
    "latest",
    "the",
    "is",
    "are",
    "does",
    "do",
    "did",
    "can",
    "could",
    "please",
    "patient",
    "patients",
    "prescription",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "look",
    "up",
    "for",
    "of",
    "me",
    "a",
    "an",
    "i",
    "we",
    "our",
    "last",
    "recent",
    "current",
    "spectacle",
}
DATA_HINTS = re.compile(r"\b(?:we|our|us|this practice|in stock)\b", re.I)


@dataclass
class PlannedCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    route: str  # "tools" | "knowledge" | "refusal"
    calls: list[PlannedCall] = field(default_factory=list)
    refusal: str = ""
    planner: str = "deterministic"
    scores: dict[str, float] = field(default_factory=dict)


def parse_category(text: str) -> str | None:
    lowered = text.lower()
    for category, pattern in CATEGORY_WORDS:
        if re.search(rf"\b(?:{pattern})\b", lowered):
            return category
    return None


def parse_lens_type(text: str) -> str | None:
    lowered = text.lower()
    for lens_type, pattern in LENS_TYPE_WORDS:
        if re.search(rf"\b(?:{pattern})\b", lowered):
            return lens_type
    return None


def parse_sku(text: str) -> str | None:
    match = SKU.search(text)
    return match.group(0) if match else None


def parse_name(text: str) -> str | None:
    """A person's name: capitalised words (not question words), or the words after "for"/"named"."""
    possessive = re.search(r"\b([A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+)*)['’]s\b", text)
    if possessive and possessive.group(1).lower() not in NOT_NAMES:
        return possessive.group(1)
    after = re.search(r"\b(?:for|named|called|of|patient)\s+((?:[A-Z][a-z'’-]+\s?){1,3})", text)
    if after:
        words = [w for w in after.group(1).split() if w.lower() not in NOT_NAMES]
        if words:
            return " ".join(words)
    words = re.findall(r"\b[A-Z][a-z'’-]+\b", text)
    words = [w for w in words[1:] if w.lower() not in NOT_NAMES] if words and text.startswith(words[0]) else words
    return " ".join(words[:3]) or None


def _product_query(question: str) -> str | None:
    sku = parse_sku(question)
    if sku:
        return sku
    stripped = re.sub(
        r"(?i)\b(what|what's|is|are|the|a|an|of|our|we|do|does|have|has|stock|in|how|much|many|price|prices|cost|costs|"
        r"for|sell|pay|margin|margins|on|left|hand|any|show|me|tell|about|find|list|buying|wholesale|there)\b|[?.,!]",
        " ",
        question,
    )
    for _, pattern in CATEGORY_WORDS:
        stripped = re.sub(rf"(?i)\b(?:{pattern})\b", " ", stripped)
    words = stripped.split()
    return " ".join(words) if words else None


@lru_cache(maxsize=1)
def _tool_description_vectors() -> dict[str, list[float]]:
    from assistant.llm.embeddings import embed_texts

    names = list(TOOLS)
    vectors = embed_texts([TOOLS[name].description for name in names])
    return dict(zip(names, vectors, strict=True))


def tool_similarities(question: str) -> dict[str, float]:
    from assistant.llm.embeddings import embed_texts

    question_vector = embed_texts([question])[0]
    return {
        name: round(sum(a * b for a, b in zip(question_vector, vector, strict=True)), 4)
        for name, vector in _tool_description_vectors().items()
    }


def _arguments(name: str, question: str, today: date) -> dict[str, Any] | None:
    """Arguments for tool `name` parsed from the question; None when a required one is missing."""
    period = parse_period(question, today=today)
    if name in {"sales_summary", "top_sellers"}:
        arguments: dict[str, Any] = {"period": question if period else "this month"}
        lens_type = parse_lens_type(question)
        category = parse_category(question)
        if lens_type:
            arguments["lens_type"] = lens_type
            category = "spectacle_lens"
        if category:
            arguments["category"] = category
        if name == "sales_summary" and (sku := parse_sku(question)):
            arguments["sku"] = sku
        if name == "top_sellers":
            if re.search(r"(?i)\b(revenue|takings|money|£|value)\b", question):
                arguments["by"] = "revenue"
            if limit := re.search(r"(?i)\btop (\d{1,2})\b", question):
                arguments["limit"] = int(limit.group(1))
        if period:
            arguments["start"], arguments["end"] = period.start.isoformat(), period.end.isoformat()
            arguments["period"] = period.label
        return arguments
    if name == "low_stock":
        category = parse_category(question)
        return {"category": category} if category else {}
    if name in {"product_lookup", "product_cost"}:
        query = _product_query(question)
        return {"query": query} if query else None
    if name in {"patient_lookup", "latest_prescription"}:
        person = parse_name(question)
        if not person:
            return None
        return {"query": person} if name == "patient_lookup" else {"patient": person}
    if name == "recalls_due":
        arguments = {"overdue_only": bool(re.search(r"(?i)\boverdue\b", question))}
        if re.search(r"(?i)\bcontact lens|\baftercare\b", question):
            arguments["kind"] = "cl_aftercare"
        elif re.search(r"(?i)\beye (?:exam|test)|\bsight test", question):
            arguments["kind"] = "eye_exam"
        return arguments
    return {}


def plan_deterministic(question: str, *, user: Any, today: date) -> Plan:
    matched = [name for name, pattern in RULES if re.search(pattern, question, re.I)]
    # "What is a progressive lens?" names no data: without a rule match or a hint that the
    # question is about this practice, it goes to knowledge retrieval.
    if not matched:
        return Plan(route="knowledge")
    if (
        not DATA_HINTS.search(question)
        and not parse_sku(question)
        and matched[0]
        not in {
            "low_stock",
            "lab_jobs_ready",
            "recalls_due",
            "top_sellers",
            "latest_prescription",
            "patient_lookup",
            "product_cost",
        }
    ):
        return Plan(route="knowledge")
    # Rules are ordered from the most to the least specific, so the first match that can
    # get its arguments wins; similarity decides between "sales" and "top sellers" ties.
    scores: dict[str, float] = {}
    if {"top_sellers", "sales_summary"} <= set(matched):
        scores = tool_similarities(question)
        if re.search(r"(?i)\bhow many\b|\bhow much\b|\btotal\b", question) and not re.search(
            r"(?i)\btop\b|\bbest\b|\bmost\b", question
        ):
            matched.remove("top_sellers")
    for name in matched:
        if name == "product_cost" and not TOOLS[name].allowed(user):
            return Plan(route="refusal", refusal=TOOLS[name].refusal, scores=scores)
        if name in {"latest_prescription", "patient_lookup"} and not parse_name(question):
            continue
        arguments = _arguments(name, question, today)
        if arguments is None:
            continue
        tool: Tool = TOOLS[name]
        if not tool.allowed(user):
            return Plan(route="refusal", refusal=tool.refusal, calls=[PlannedCall(name, arguments)], scores=scores)
        return Plan(route="tools", calls=[PlannedCall(name, arguments)], scores=scores)
    return Plan(route="knowledge", scores=scores)


# --- native tool calling (models whose chat template supports tools, e.g. Llama 3.1 Instruct) -----


def native_tool_prompt(tools: list[Tool], today: date) -> str:
    """The system prompt that offers tools in the JSON-based format Llama 3.1 was trained on."""
    described = "\n\n".join(json.dumps(tool.schema()) for tool in tools)
    return (
        f"Today is {today.isoformat()}. You can call these functions to answer questions about the practice's "
        "own data. If the question needs one, reply with only a JSON object of the form "
        '{"name": function name, "parameters": {argument name: value}} and nothing else. '
        "If no function is needed, answer the question directly.\n\n" + described
    )


def parse_tool_calls(text: str) -> list[PlannedCall]:
    """Tool calls in a model's reply: `{"name":..., "parameters"|"arguments":...}` objects, alone,
    in a list, after `<|python_tag|>`, or inside `<tool_call>` tags. Unknown tools are dropped."""
    cleaned = text.replace("<|python_tag|>", " ").replace("<|eom_id|>", " ").replace("<|eot_id|>", " ")
    candidates: list[Any] = []
    tagged = re.findall(r"<tool_call>\s*(.*?)\s*</tool_call>", cleaned, re.S)
    blobs = tagged or [cleaned]
    decoder = json.JSONDecoder()
    for blob in blobs:
        position = 0
        while True:
            start = min((i for i in (blob.find("{", position), blob.find("[", position)) if i >= 0), default=-1)
            if start < 0:
                break
            try:
                value, end = decoder.raw_decode(blob, start)
            except json.JSONDecodeError:
                position = start + 1
                continue
            candidates.extend(value if isinstance(value, list) else [value])
            position = end
    calls: list[PlannedCall] = []
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        if "function" in candidate and isinstance(candidate["function"], dict):
            candidate = candidate["function"]
        name = candidate.get("name")
        arguments = candidate.get("parameters", candidate.get("arguments", {}))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                arguments = {}
        if name in TOOLS and isinstance(arguments, dict):
            calls.append(PlannedCall(name, arguments))
    return calls
