"""Reading a data question into a structured query (``assistant.tools.query.DataQuery``), a call
of one of the listing tools, a question back, an honest "I can't answer that", or "not a data
question" (knowledge retrieval answers it).

The question is normalised (case, punctuation, possessives, typos), then read part by part,
each part taking the words it understood: the period (``assistant.tools.periods``), a
comparison, the grouping, the filters (the practice's own brands, suppliers, products and staff
included), the ranking and the metric. Whatever is left must be words that carry nothing (see
``lexicon.HARMLESS``): an unknown word ("Gucci", "Smarch") is asked back rather than ignored, so
that a figure is never given for a question that was only half understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError

from assistant.tools import lexicon
from assistant.tools.lexicon import PracticeNames, fold
from assistant.tools.periods import (
    Period,
    PeriodMatch,
    PeriodProblem,
    find_periods,
    normalise,
    previous_period,
    same_period_last_year,
    unread_time_words,
)
from assistant.tools.query import (
    COST_METRICS,
    SALES_METRICS,
    STOCK_METRICS,
    TIME_GROUPS,
    Compare,
    DataQuery,
    GroupBy,
    Metric,
    Rank,
)
from assistant.tools.question_names import parse_name, product_query
from assistant.tools.toolset import validation_message
from practice.models import Category


def P(pattern: str) -> re.Pattern[str]:
    """A pattern whose spaces match any run of spaces (words taken out of the text leave gaps)."""
    return re.compile(pattern.replace(" ?", r"\s*").replace(" ", r"\s+"))


@dataclass
class Reading:
    """What the parser made of a question."""

    kind: str  # "query" | "tool" | "clarify" | "cannot" | "knowledge"
    query: DataQuery | None = None
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    period_via: str = ""  # "grammar" or "dateparser" when a period was read
    unknown: list[str] = field(default_factory=list)


class Words:
    """The normalised question, and which of its characters have been understood."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.used = [False] * len(text)

    def rest(self) -> str:
        return "".join(" " if used else char for char, used in zip(self.text, self.used, strict=True))

    def find(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return pattern.search(self.rest())

    def take(self, pattern: re.Pattern[str], group: int | str = 0) -> re.Match[str] | None:
        match = self.find(pattern)
        if match:
            self.use(match.start(group), match.end(group))
        return match

    def take_all(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = []
        while match := self.take(pattern):
            found.append(match)
        return found

    def has(self, pattern: re.Pattern[str]) -> bool:
        return self.find(pattern) is not None

    def use(self, start: int, end: int) -> None:
        for index in range(start, end):
            self.used[index] = True

    def leftovers(self) -> list[str]:
        return re.findall(r"[a-z0-9£'.&+-]+", self.rest())


# --- fixed phrasings ---------------------------------------------------------------------------------

GREETING = P(
    r"\b(?:good (?:morning|afternoon|evening)|hi there|hello there|hey there)\b|^\s*(?:morning|afternoon|evening|hiya|hi|hello|hey)\b"
)
FORECAST = P(
    r"\b(?:will (?:we|our|it|they|i|the)|going to (?:sell|make|take|do|be)|forecast\w*|predict\w*|projected|projection\w*|expect(?:ed)? to|next year's)\b"
)
NOT_RECORDED = [
    (
        P(r"\bfootfall\b|\bvisitors?\b|\bwalk-?ins?\b|\bcame through the door\b"),
        "the practice's records don't hold visits to the practice",
    ),
    (
        P(r"\bnew patients?\b|\bregist(?:ered|rations?)\b|\bsign-?ups?\b"),
        "the practice's records don't hold when patients registered",
    ),
    (P(r"\bbranch(?:es)?\b|\bother practices?\b|\bour (?:other )?stores?\b"), "the records are this practice's only"),
    (
        P(r"\b(?:over|under|aged|older than|younger than) \d+\b|\bage(?:d| group)?\b|\bpensioners?\b"),
        "I can't filter by patients' ages",
    ),
    (P(r"\bappointments?\b|\bbookings?\b|\bno-?shows?\b"), "the practice's records don't hold appointments"),
    (
        P(
            r"\bwages?\b|\bsalar(?:y|ies)\b|\bstaff(?:ing)? costs?\b|\bstaff\b.*\bcost us\b|\bcost of (?:the |our )?staff\b|\brent\b|\bexpenses?\b|\boverheads?\b|\bnet profit\b"
        ),
        "I only know the products' cost prices, not the practice's other costs",
    ),
    (
        P(r"\brefund(?:s|ed)?\b|\bvoid(?:s|ed)?\b|\breturns\b"),
        "the figures count completed sales only, not refunds or voided sales",
    ),
    (
        P(r"\bsell[- ]?through\b|\bstock ?turns?\b|\bconversion(?: rate)?\b|\bcapture rate\b"),
        "rates such as sell-through are not worked out yet (units sold and stock on hand are)",
    ),
]
# Words that change what is asked ("not Ray-Ban", "revenue per sale"): never silently left out.
LOGIC_WORDS = frozenset(
    [
        "not",
        "except",
        "excluding",
        "exclude",
        "without",
        "apart",
        "other",
        "others",
        "per",
        "average",
        "ex",
        "minus",
        "besides",
    ]
)
KNOWLEDGE_CUE = P(
    r"^\s*(?:what (?:is|are|does)|whats? (?:a|an)|how (?:do|does|often|long|should|can)|why|should|can i|is it|is there|are there|explain|define|tell me about|what causes|when should)\b"
)
WHY = P(r"^\s*(?:why|how come)\b")
VAGUE = P(
    r"\bhow (?:are|were|did|have) (?:we|things|sales|(?:the |our )?(?:store|shop|practice|business)) (?:doing|do|done|going|been)\b|\bhow(?: is| was| has)? (?:business|trade)\b|\bperformance\b"
)
TOP_OF_RECORDS = P(
    r"\b(?:top|bottom)(?: \d{1,2}| ten| five| three)? (?:brands?|suppliers?|products?|skus?|sellers?|categories|staff|months?|weeks?|days?)\b"
)
DATA_CUE = P(
    r"\b(?:we|our|us|ours|sold|sell|sells|selling|sales|takings|revenue|turnover|stock|inventory|practice|shop|store|shifted|"
    r"staff|lab|recalls?|patients seen|transactions)\b"
)
# Words that ask for figures from the records, even without "we" or a period ("Show me the figures").
RECORDS_WORDS = P(
    r"\b(?:figures|numbers|stats|statistics|totals?|units|takings|revenue|turnover|margins?|profits?|"
    r"discounts?|refunds?|breakdown|report|quarter|q[1-9]|ytd|mtd)\b"
)
SKU = re.compile(r"\b(?=[a-z0-9-]*[a-z])(?=[a-z0-9-]*\d)[a-z0-9]{1,10}(?:-[a-z0-9]{1,12})+\b")

# Tools that list rows rather than count them.
LOW_STOCK = P(
    r"\blow (?:on )?stock\b|\blow-stock\b|\brunning (?:low|out)\b|\bout of stock\b|\bre-?order\b|\brestock\b|\bneed to order\b|\bneeds? (?:re-?ordering|to be re-?ordered|ordering)\b|\bstock (?:is )?low\b|\bbelow (?:their |the )?reorder\b"
)
LIST_WORDS = P(r"^\s*(?:which|what|list|show|who|give me|tell me)\b|\bwho (?:is|are)\b|\blist\b")
HOW_MANY = P(r"\bhow many\b|\bnumber of\b|\bcount\b|\bhow much\b|\btotal\b")
PRESCRIPTION = P(r"\bprescriptions?\b|\brx\b")
PATIENT_LOOKUP = P(
    r"\bfind (?:the )?patient\b|\blook up\b|\bpatient (?:called|named)\b|\bdate of birth\b|\bphone number\b"
)
PRODUCT_COST = P(
    r"\bcost prices?\b|\bwhat do we pay\b|\bbuy(?:ing)? prices?\b|\bwholesale\b|\bcost of (?:the|a|an|our)\b|\bwhat does .* cost us\b|\bcost us\b"
)
PRODUCT_LOOKUP = P(
    r"\bprice of\b|\bhow much (?:is|are|does|do) (?:the|a|an)\b|\bwhat(?: is|'s)? the price\b|\bdo we (?:have|stock|sell) (?:any|the|a)\b|\bis (?:the|a) .* in stock\b"
)

# Comparisons.
COMPARE_CUE = P(
    r"\b(?:compared? (?:with|to|against)|compare|vs\.?|versus|against|than|relative to|up or down on|(?:up|down) on)\b"
)
# "Did we take more in October or September?": "or" compares when a comparative is asked.
COMPARATIVE = P(r"\b(?:more|less|fewer|better|worse|higher|lower|bigger|smaller)\b")
OR_CUE = P(r"\bor\b")
YEAR_ON_YEAR = P(
    r"\b(?:year[- ]on[- ]year|year[- ]over[- ]year|yoy|(?:the )?same (?:period|time|month|week|quarter|day|days|dates) (?:last|a|the previous|the year before) year|(?:the )?year before|a year (?:ago|earlier)|last year's)\b"
)
CHANGE_WORDS = P(r"\b(?:change|changes|difference|growth|increase|decrease|drop|rise|trend|better|worse|doing)\b")
PERIOD_BEFORE = P(
    r"\b(?:(?:the )?(?:previous|prior|preceding) (?:period|month|week|quarter|year|fortnight|\d+(?: (?:days|weeks|months))?|(?:thirty|sixty|ninety|seven|twelve) (?:days|weeks|months))|(?:the )?(?:month|week|quarter|year|period|day|fortnight) before|(?:the )?(?:\d+|thirty|sixty|ninety|seven|twelve) (?:days|weeks|months) before|month[- ]on[- ]month|week[- ]on[- ]week|mom)\b"
)

# Groupings.
GROUP_NOUNS: list[tuple[GroupBy, str]] = [
    (GroupBy.LENS_TYPE, r"lens types?|types? of lens(?:es)?"),
    (
        GroupBy.PAYMENT_METHOD,
        r"payment (?:methods?|types?)|methods? of payment|ways? of paying|how (?:did )?(?:people|customers|patients) (?:paid|pay)",
    ),
    (
        GroupBy.STAFF,
        r"staff members?|members? of (?:the )?(?:staff|team)|staff|salespe(?:rson|ople)|sales ?people|employees?|team members?|people|person|opticians?",
    ),
    (GroupBy.SUPPLIER, r"suppliers?|distributors?"),
    (GroupBy.BRAND, r"brands?|manufacturers?"),
    (GroupBy.CATEGORY, r"categor(?:y|ies)|product types?|departments?"),
    (GroupBy.STATUS, r"status(?:es)?|stages?"),
    (GroupBy.PRODUCT, r"products?|items?|skus?|lines?|models?|sellers?"),
    (GroupBy.MONTH, r"months?"),
    (GroupBy.WEEK, r"weeks?"),
    (GroupBy.DAY, r"days?|dates?"),
    (GroupBy.QUARTER, r"quarters?"),
]
GROUP_WORDS = "|".join(f"(?P<g{i}>{pattern})" for i, (_, pattern) in enumerate(GROUP_NOUNS))
EXPLICIT_GROUP = P(
    rf"\b(?:by|per|each|every|for each|split by|split across|broken down by|break ?down by|breakdown by|grouped by|across|for every|in each|of each) (?:the )?"
    rf"(?:(?P<qualifier>frame|lens|spectacle lens|contact lens|cl|solution|accessory) )?(?:{GROUP_WORDS})\b"
)
# "Staff sales counts", "brand revenue for Q3": a group noun written before the figure.
LEADING_GROUP = P(
    r"^\s*(?:(?:show|give|list|get) (?:me )?)?(?:the |our )?(?P<noun>staff|brands?|suppliers?|categor(?:y|ies)|payment methods?|lens types?) "
    r"(?=(?:sales|revenue|takings|turnover|units|unit sales|figures|totals?|counts?|margins?|breakdown|league table)\b)"
)
# "Which single product": emphasis, not a lens type.
SINGLE_EMPHASIS = P(
    r"\b(?:single|one|individual) (?=(?:[a-z]+est |most [a-z]+ )?(?:product|item|sku|model|brand|supplier|member|person|day|week|month)\b)"
)
TIME_ADJECTIVE = P(
    r"\b(monthly|weekly|quarterly|month[- ]by[- ]month|week[- ]by[- ]week|day[- ]by[- ]day|daily(?= (?:sales|takings|revenue|figures|totals?|count|breakdown|units|numbers)))\b"
)
# "which frame brand", "what 3 products", but not "what did we make".
WHICH_GROUP = P(
    rf"\b(?:which|what) (?:(?P<n>\d+|two|three|four|five|six|seven|eight|nine|ten) )?"
    rf"(?:(?:(?!(?:did|do|does|have|has|had|was|were|is|are|we|you|our|the)\b)[\w-]+ ){{0,2}}?)?(?:{GROUP_WORDS})\b"
)
WHO = P(
    r"\bwho(?:'s)? (?:sold|sells|made|makes|took|takes|brought|had|did|has|rang|was|is)\b|\bwho\b(?=.*\b(?:most|least|best|highest|lowest|top)\b)"
)
RANK_TOP = P(
    r"\b(?:best[- ]?sell(?:ing|ers?)|top[- ]sell(?:ing|ers?)|bestsell(?:ing|ers?)|sold (?:the )?most|sells? (?:the )?(?:most|best)|sold best|most popular|top|best|most|highest|biggest|largest|greatest|busiest|strongest|leading|peak|record|popular)\b"
)
RANK_BOTTOM = P(
    r"\b(?:worst[- ]sell(?:ing|ers?)|least popular|sold (?:the )?least|sells? (?:the )?(?:least|worst)|sold worst|worst|least|lowest|fewest|smallest|quietest|slowest|weakest|bottom|poorest)\b"
)
NUMBER_WORDS = {
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
    "twenty": 20,
}
LIMIT = P(
    r"\b(?:top|best|bottom|worst|first|last) (\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|twenty)\b|\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|twenty) (?=best|worst|top|bottom|most|least|highest|lowest|biggest|busiest|quietest)"
)
BY_SOMETHING = P(
    r"\b(?:by|per|for each|for every|broken down by|split by|grouped by) (?:the |each |every )?(?!(?:far|now|then|default)\b)([a-z]+)\b"
)
WHICH_NUMBER = P(r"\b(?:which|what) (\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|twenty)\b")
BREAKDOWN = P(r"\bbreak ?downs?\b|\bbroken down\b|\bsplit\b")

# Stock named outright; "have we got", "do we have" and "left" count as stock only outside a
# lab-job or recall question.
STOCK_NAMED = P(
    r"\bin stock\b|\bon hand\b|\binventory\b|\bstock on hand\b|\bstock levels?\b|\bstock count\b|\bhold the most stock\b|\bhold(?: the)? (?:most|least)\b|\bstock(?:ed)?\b(?! value)"
)
# Metrics, in the order they are tried (the first that matches wins).
METRIC_RULES: list[tuple[Metric, re.Pattern[str]]] = [
    (
        Metric.STOCK_VALUE,
        P(
            r"\b(?:stock|inventory)\b.*\bat cost\b|\bat cost\b.*\b(?:stock|inventory)\b|"
            r"\b(?:stock|inventory) (?:value|valuation|is worth|worth)\b|\bvalue of (?:our |the |all )?(?:\w+ )?(?:stock|inventory)\b|\bhow much is (?:our |the )?(?:stock|inventory)\b|\bworth of (?:our )?stock\b|\bstock (?:holding )?at cost\b"
        ),
    ),
    (Metric.MARGIN, P(r"\b(?:gross )?(?:margins?|profits?|mark-?ups?)\b")),
    (
        Metric.STOCK_ON_HAND,
        P(
            r"\bin stock\b|\bon hand\b|\binventory\b|\bstock on hand\b|\bstock levels?\b|\bstock count\b|\bhold the most stock\b|\bhold(?: the)? (?:most|least)\b|\bstock(?:ed)?\b(?! value)|\bhave we got\b|\bdo we have\b|\bleft\b"
        ),
    ),
    (
        Metric.AVERAGE_UNITS_PER_SALE,
        P(
            r"\b(?:units|items|pieces|products) per (?:sale|transaction|order|customer|basket|receipt)\b|\bbasket size in units\b|\baverage (?:number of )?(?:items|units)\b|\bupt\b|\bbasket size\b"
        ),
    ),
    (
        Metric.AVERAGE_SALE_VALUE,
        P(
            r"\baverage (?:spend|value) (?:per|a|of a) (?:sale|transaction|customer|order)\b|\b(?:average|avg|mean|typical) (?:sale|sales|transaction|order|basket|ticket|spend|purchase)(?: value| size| worth| amount| total)?\b|\b(?:atv|aov)\b|\baverage (?:\w+ )?sale\b|\b(?:the )?average (?:customer|patient) (?:spend|spent|spends|paid|pays)\b"
        ),
    ),
    (
        Metric.LAB_JOBS,
        P(
            r"\blab jobs?\b|\bjobs?\b|\bglazing\b|\b(?:glasses|specs|spectacles|pairs?) (?:were |have been |got |been )?(?:collected|picked up|handed over)\b"
        ),
    ),
    (Metric.RECALLS_OVERDUE, P(r"\boverdue\b|\bpast due\b|\blate for\b")),
    (Metric.RECALLS_DUE, P(r"\brecalls?\b|\bdue (?:a|an|for|their)\b|\bdue\b")),
    (
        Metric.PATIENTS_SEEN,
        P(
            r"\bpatients? (?:(?:did|have|has|had) )?(?:we )?(?:see|seen|saw|examined?|tested|test|in the chair)\b|\bsaw\b.*\bpatients\b|\b(?:eye|sight) (?:tests?|exams?|examinations?)\b|\bpatients seen\b|\bexaminations?\b|\bpatients\b"
        ),
    ),
    (Metric.UNITS, P(r"\bsales volumes?\b|\bvolume of sales\b|\bunit sales\b|\bunits? sold\b")),
    (
        Metric.SALES,
        P(
            r"\b(?:people|customers|patients) (?:bought|purchased|buying)\b|\b(?:number of|how many|count of|no of) (?:customer |till |individual |separate )?(?:sales|transactions|orders|receipts|sales transactions)\b|\btransactions?\b|\borders\b|\bsales count\b|\b(?:most|fewest|least|more|fewer|highest number of|lowest number of) sales\b|\bhow many (?:\w+ )?sales\b|\bnumber of sales\b"
        ),
    ),
    (
        Metric.REVENUE,
        P(
            r"(?:\b(?:revenue|revnue|takings|turnover|turn(?:ed)? over|gross(?:ed)?|came in|come in|coming in|income|pounds|money|value|worth|earn(?:ed|t)?|gross sales|bring in|brought in|brings in|taken|taking|take|took|made|make|paid|pay|sales)\b|£)"
        ),
    ),
    (
        Metric.UNITS,
        P(
            r"\b(?:units?|items?|pieces|boxes|pairs?|quantity|volume|sold|sells|selling|sell|shift(?:ed)?|went out|go out|how many)\b"
        ),
    ),
]
RANK_METRIC_HINTS: list[tuple[Metric, re.Pattern[str]]] = [
    (
        Metric.SALES,
        P(
            r"\b(?:busiest|quietest)\b|\b(?:most|fewest|least|highest number of|lowest number of) (?:sales|transactions|orders)\b"
        ),
    ),
    (
        Metric.UNITS,
        P(
            r"\b(?:best|top|worst)[- ]?sell(?:ing|ers?)\b|\bbestsell(?:ing|ers?)\b|\b(?:most|least) popular\b|\bsold (?:the )?(?:most|least|best|worst)\b|\bsells? (?:the )?(?:most|least|best|worst)\b|\bsold best\b"
        ),
    ),
]
GLASSES = P(r"\b(?:pairs? of )?(?:glasses|spectacles|specs|eyeglasses|eyewear)\b")
SUNGLASSES = P(r"\bsun ?glasses\b|\bsunnies\b")
SUPPLIER_CUE = P(
    r"\b(?:supplier|suppliers|supplied by|distributor|distributed by|sourced from|bought from|ordered from|through|via)\b"
)
LAB_CONTEXT = P(r"\blab\b|\bjobs?\b|\bglazing\b|\bcollect(?:ed|ion|ing)?\b|\bpicked up\b|\bremakes?\b|\bremade\b")
RECALL_CONTEXT = P(r"\brecalls?\b|\bdue\b|\boverdue\b|\bpast due\b")


# --- helpers -------------------------------------------------------------------------------------------


def _vocabulary() -> frozenset[str]:
    """Every word the parser's own patterns spell out (so that it is never "corrected")."""
    from assistant.tools import periods

    patterns = [pattern for _, pattern in METRIC_RULES] + [
        value for name, value in globals().items() if isinstance(value, re.Pattern) and name.isupper()
    ]
    for table in (
        lexicon.CATEGORY_PATTERNS,
        lexicon.LENS_TYPE_PATTERNS,
        lexicon.MATERIAL_PATTERNS,
        lexicon.COATING_PATTERNS,
        lexicon.PAYMENT_PATTERNS,
        lexicon.LAB_STATUS_PATTERNS,
        lexicon.RECALL_KIND_PATTERNS,
    ):
        patterns += [pattern for _, pattern in table]
    patterns += [pattern for pattern, _ in periods.RULES]
    found: set[str] = set(GROUP_WORDS_LIST)
    for pattern in patterns:
        found.update(re.findall(r"[a-z]{3,}", re.sub(r"\\[a-zA-Z]", " ", pattern.pattern)))  # not "\\boverdue"
    return frozenset(found)


GROUP_WORDS_LIST = [word for _, pattern in GROUP_NOUNS for word in re.findall(r"[a-z]{3,}", pattern)]


def prepare(question: str, names: PracticeNames) -> str:
    """The question as the parser reads it: normalised, possessives dropped, typos corrected."""
    _load_vocabulary()
    text = normalise(question)
    text = re.sub(r"(\w)'s\b", r"\1", text)  # possessives and "what's"
    text = re.sub(r"(\w)s'(?=\s)", r"\1s", text)
    text = re.sub(r"£\s?(\d)", r"£ \1", text)
    # An ordinary English word is what it says, not a typo of another ("lends" is not "lenses").
    known = (
        lexicon.HARMLESS
        | lexicon.METRIC_NOISE
        | VOCABULARY
        | names.words
        | frozenset(names.skus)
        | lexicon.ordinary_words()
    )
    targets = lexicon.CORRECTABLE | frozenset(w for w in names.product_words if w.isalpha())
    brand_words = frozenset(w for phrase in names.brand_phrases for w in phrase.split() if w.isalpha() and len(w) >= 5)
    words = lexicon.correct_typos(text.split(), known, targets, names=brand_words)
    return " " + " ".join(words) + " "


VOCABULARY: frozenset[str] = frozenset()
# The parser's own words, which a rule reads when they are used as it expects: one left unread
# ("staff sales counts", "single" without "vision") means a part of the question was not understood.
UNREAD_VOCABULARY: frozenset[str] = frozenset()


def _load_vocabulary() -> None:
    global VOCABULARY, UNREAD_VOCABULARY
    if not VOCABULARY:
        VOCABULARY = _vocabulary()
        forms = {form for word in VOCABULARY for form in (word, word + "s", word.removesuffix("s"))}
        UNREAD_VOCABULARY = frozenset(forms) - lexicon.HARMLESS - lexicon.METRIC_NOISE


def _number(text: str | None) -> int | None:
    if not text:
        return None
    return int(text) if text.isdigit() else NUMBER_WORDS.get(text)


def _group_of(match: re.Match[str]) -> GroupBy:
    for index, (group, _) in enumerate(GROUP_NOUNS):
        if match.group(f"g{index}"):
            return group
    raise ValueError("no group noun in match")


def _plural(match: re.Match[str]) -> bool:
    noun = next(match.group(f"g{i}") for i in range(len(GROUP_NOUNS)) if match.group(f"g{i}"))
    return (noun.endswith("s") and not noun.endswith("status")) or noun.endswith("ies") or noun in ("people", "staff")


def _choices(words: Words, patterns: list[tuple[str, re.Pattern[str]]]) -> list[str]:
    found: list[str] = []
    for value, pattern in patterns:
        for match in pattern.finditer(words.rest()):
            words.use(match.start(), match.end())
            if value not in found:
                found.append(value)
    return found


def _name_spans(words: Words, table: dict[str, str], max_words: int = 4) -> list[tuple[int, int, str]]:
    """Longest runs of words whose folded text is a key of `table` (a trailing plural s allowed)."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[a-z0-9&+'.-]+", words.rest())]
    found: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        hit = None
        for size in range(min(max_words, len(tokens) - index), 0, -1):
            run = tokens[index : index + size]
            key = fold(" ".join(token for _, _, token in run))
            for candidate in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
                if candidate and candidate in table:
                    hit = (run[0][0], run[-1][1], table[candidate], size)
                    break
            if hit:
                break
        if hit:
            found.append(hit[:3])
            index += hit[3]
        else:
            index += 1
    return found


# --- the reader ----------------------------------------------------------------------------------------


@dataclass
class _Parts:
    period: Period | None = None
    period_phrase: str = ""
    period_via: str = ""
    compare: Compare | None = None
    group_by: GroupBy | None = None
    group_plural: bool = False
    rank: Rank | None = None
    limit: int | None = None
    metric: Metric | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    product_noun: bool = False  # a category, lens type or product was named (a ranking then ranks products)


class QuestionBack(Exception):
    def __init__(self, message: str, kind: str = "clarify") -> None:
        super().__init__(message)
        self.kind = kind


def read_question(question: str, *, today: date, names: PracticeNames | None = None) -> Reading:
    """What `question` asks, as of `today`."""
    names = names if names is not None else lexicon.practice_names()
    text = prepare(question, names)
    words = Words(text)
    try:
        return _read(words, question, today, names, lexicon.written_as_names(question))
    except QuestionBack as back:
        if not _about_records(text, today):
            # "Why are my glasses so thick?" names a category but asks nothing of the records:
            # asking back which category would answer an optics question with a data question.
            return Reading(kind="knowledge")
        return Reading(kind=back.kind, message=str(back))


# Asking what to buy or wear ("my son's glasses keep breaking at football, what should we get?"):
# the "we" of a family, not of the practice's trade.
ADVICE = P(
    r"\b(?:what|which(?: ones?)?) (?:should|would|could|can) (?:we|i|he|she|they) (?:get|buy|choose|wear|use|go for)\b"
)
# A patient asking what they need ("do I need sunglasses with UV protection in winter?"): the
# season is when they wear them, not a period of the records.
OWN_NEED = P(r"\b(?:do|should|must|can) i (?:really |still |also |even )?(?:need|wear|get|buy|use|have)\b")


def _about_records(text: str, today: date) -> bool:
    """Whether a question that could not be read whole still asks for the practice's records: it
    speaks of the practice or its trade, names a period, or asks for figures or a ranking of them."""
    periods = find_periods(text, today=today, normalised=True)
    if ADVICE.search(text) and not RECORDS_WORDS.search(text) and not periods:
        return False
    if OWN_NEED.search(text) and not RECORDS_WORDS.search(text) and not DATA_CUE.search(text):
        return False
    return bool(
        DATA_CUE.search(text)
        or RECORDS_WORDS.search(text)
        or VAGUE.search(text)
        or TOP_OF_RECORDS.search(text)
        or periods
    )


def _read(words: Words, question: str, today: date, names: PracticeNames, written_names: frozenset[str]) -> Reading:
    text = words.text
    words.take_all(GREETING)
    words.take_all(COMPARATIVE) if COMPARE_CUE.search(text) or OR_CUE.search(text) else None
    listing = _listing_tool(words, question, names, today)
    if listing is not None:
        return listing
    if words.has(FORECAST):
        raise QuestionBack(
            "I can only report what has already happened in the practice's records, not forecast what will.",
            "cannot",
        )
    for pattern, why in NOT_RECORDED:
        if words.has(pattern) and (words.has(DATA_CUE) or why.startswith(("the figures", "rates"))):
            raise QuestionBack(f"I can't answer that: {why}.", "cannot")

    parts = _Parts()
    matches = find_periods(text, today=today, normalised=True)
    matches = _comparison(words, matches, parts)
    _period(words, matches, parts)
    _groups_before_filters(words, parts)
    _filters(words, parts, names)
    _groups_after_filters(words, parts)
    _metric(words, parts)

    data_cue = words.text if DATA_CUE.search(words.text) else ""
    if parts.metric is None and parts.group_by == GroupBy.PAYMENT_METHOD and not parts.rank:
        parts.metric = Metric.REVENUE  # a breakdown of payments is of the money paid
    if parts.metric is None:
        if not data_cue and not RECORDS_WORDS.search(text) and WHY.search(text):
            # "Why don't my photochromic lenses go dark on hot summer days?" names a lens category and
            # a time of year, but a why that asks of the records speaks of them ("why did our sales fall").
            return Reading(kind="knowledge")
        if VAGUE.search(text):
            raise QuestionBack(
                "Which figure would you like: revenue, units sold or the number of sales (and for which period)?"
            )
        if parts.group_by is not None or parts.rank is not None:
            # "top brands" ranks the practice's own records ("the best brand for dry eyes" asks advice).
            if data_cue or parts.period or TOP_OF_RECORDS.search(text):
                raise QuestionBack(
                    "Ranked by what: revenue, units sold or the number of sales?"
                    + ("" if parts.period else " And for which period?")
                )
            return Reading(kind="knowledge")
        figures_asked = BREAKDOWN.search(text) or P(r"\b(?:numbers|figures|stats|statistics|totals?)\b").search(text)
        if figures_asked and LIST_WORDS.search(text):
            raise QuestionBack(
                "Which figures would you like: revenue, units sold or the number of sales, and for which period?"
            )
        if (data_cue or parts.filters or parts.period) and (figures_asked or (parts.filters and parts.period)):
            raise QuestionBack("Which figure would you like: revenue, units sold or the number of sales?")
        if data_cue and parts.period:
            raise QuestionBack("Which figure would you like: revenue, units sold or the number of sales?")
        return Reading(kind="knowledge")
    if (
        not data_cue
        and not parts.period
        and (KNOWLEDGE_CUE.search(text) or (not parts.filters and parts.metric in (Metric.UNITS, Metric.REVENUE)))
    ):
        return Reading(kind="knowledge")

    _check_leftovers(words, parts, written_names)
    return _query(parts, today, text)


def _listing_tool(words: Words, question: str, names: PracticeNames, today: date) -> Reading | None:
    text = words.text
    counting = HOW_MANY.search(text) is not None
    if LOW_STOCK.search(text) and not counting:
        category = next((value for value, pattern in lexicon.CATEGORY_PATTERNS if pattern.search(text)), None)
        return Reading(kind="tool", tool="low_stock", arguments={"category": category} if category else {})
    if not counting and LIST_WORDS.search(text):
        if P(r"\blab jobs?\b|\bjobs\b|\bglasses\b|\bspecs\b").search(text) and P(r"\bready\b|\bcollect").search(text):
            return Reading(kind="tool", tool="lab_jobs_ready")
        if P(r"\bpatients?\b|\bwho\b|\brecalls?\b").search(text) and RECALL_CONTEXT.search(text):
            arguments: dict[str, Any] = {"overdue_only": bool(P(r"\boverdue\b|\bpast due\b").search(text))}
            if P(r"\baftercare\b|\bcontact lens\b").search(text):
                arguments["kind"] = "cl_aftercare"
            elif P(r"\beye (?:exam|test)|\bsight test").search(text):
                arguments["kind"] = "eye_exam"
            return Reading(kind="tool", tool="recalls_due", arguments=arguments)
    if PRESCRIPTION.search(text):
        person = parse_name(question)
        if person:
            return Reading(kind="tool", tool="latest_prescription", arguments={"patient": person})
    if PATIENT_LOOKUP.search(text):
        person = parse_name(question)
        if person:
            return Reading(kind="tool", tool="patient_lookup", arguments={"query": person})
    has_period = bool(find_periods(text, today=today, normalised=True))
    if PRODUCT_COST.search(text) and not has_period and not P(r"\bstock\b|\binventory\b").search(text):
        query = _catalogue_words(question)
        if query:
            return Reading(kind="tool", tool="product_cost", arguments={"query": query})
    if PRODUCT_LOOKUP.search(text) and not has_period and not counting:
        query = _catalogue_words(question)
        if query:
            return Reading(kind="tool", tool="product_lookup", arguments={"query": query})
    return None


def _catalogue_words(question: str) -> str | None:
    """The product words of a price or cost question, when they name something in the catalogue
    ("What do our staff cost us?" names no product, so it is not a product question)."""
    from practice.selectors import product_search

    query = product_query(question)
    return query if query and product_search(query=query, limit=1) else None


def _comparison(words: Words, matches: list[PeriodMatch], parts: _Parts) -> list[PeriodMatch]:
    """Take a comparison ("vs last year", "than in August") and the period it names."""
    cue = COMPARE_CUE.search(words.text)
    if cue is None and COMPARATIVE.search(words.text):
        cue = OR_CUE.search(words.text)
    yoy = YEAR_ON_YEAR.search(words.text)
    if cue or yoy:
        words.take_all(CHANGE_WORDS)
    if yoy and (cue or re.search(r"year[- ]on[- ]year|year[- ]over[- ]year|yoy", yoy.group(0))):
        parts.compare = Compare.SAME_PERIOD_LAST_YEAR
        words.use(yoy.start(), yoy.end())
        if cue:
            words.use(cue.start(), cue.end())
        return [m for m in matches if not (m.start < yoy.end() and yoy.start() < m.end)]
    if cue is None:
        return matches
    after = [m for m in matches if m.start >= cue.start()]
    before = [m for m in matches if m.end <= cue.end()]
    period_before = PERIOD_BEFORE.search(words.text, cue.start())
    if period_before:
        parts.compare = Compare.PREVIOUS_PERIOD
        words.use(cue.start(), cue.end())
        words.use(period_before.start(), period_before.end())
        return [m for m in matches if not (m.start < period_before.end() and period_before.start() < m.end)]
    if not after:
        return matches
    second = after[0]
    if not before:
        # "Compare this week's takings with last week": the first period follows the cue word.
        if len(after) == 1 and isinstance(after[0].result, Period) and not cue.group(0).startswith("compare"):
            earlier = after[0].result
            raise QuestionBack(
                f"Which period shall I compare with {earlier.words()}? For example this year so far, "
                "or the same months of this year."
            )
        if len(after) < 2:
            return matches
        first, second = after[0], after[1]
    else:
        first = before[-1]
    main, other = first.result, second.result
    if not isinstance(main, Period) or not isinstance(other, Period):
        return matches
    compare = _relation(main, other, second.phrase)
    if compare is None and _relation(other, main, first.phrase) is not None:
        # "July and August": the later period is the one asked about.
        first, second, main, other = second, first, other, main
        compare = _relation(main, other, second.phrase)
    if compare is None:
        raise QuestionBack(
            f"I can compare {main.words()} with the period before it "
            f"({previous_period(main).words()}) or with the same period last year "
            f"({same_period_last_year(main).words()}). Which would you like?"
        )
    parts.compare = compare
    words.use(cue.start(), cue.end())
    words.use(second.start, second.end)
    return [m for m in matches if m is not second]


def _relation(first: Period, second: Period, phrase: str) -> Compare | None:
    before = previous_period(first)
    year_back = same_period_last_year(first)
    if (second.start, second.end) == (before.start, before.end):
        return Compare.PREVIOUS_PERIOD
    if (second.start, second.end) == (year_back.start, year_back.end):
        return Compare.SAME_PERIOD_LAST_YEAR
    words = phrase.strip()
    if re.fullmatch(r"(?:(?:in|with|to) )?last year", words):
        return Compare.SAME_PERIOD_LAST_YEAR
    # "this month vs last month": the previous calendar unit, compared like for like.
    if second.end < first.start and second.start <= before.start <= second.end:
        return Compare.PREVIOUS_PERIOD
    return None


def _period(words: Words, matches: list[PeriodMatch], parts: _Parts) -> None:
    for match in matches:
        words.use(match.start, match.end)
        unit = re.match(r"\s*(month|week|day|quarter)s? of the", match.phrase)
        if unit:
            parts.group_by = GroupBy(unit.group(1))
    problems = [m.result for m in matches if isinstance(m.result, PeriodProblem)]
    if problems:
        raise QuestionBack(problems[0].question())
    periods = [m for m in matches if isinstance(m.result, Period)]
    if len(periods) > 1:
        listed = " or ".join(m.result.words() for m in periods if isinstance(m.result, Period))
        raise QuestionBack(f"Which period do you mean: {listed}?")
    if periods:
        parts.period = periods[0].result  # type: ignore[assignment]
        parts.period_phrase = periods[0].phrase


def _groups_before_filters(words: Words, parts: _Parts) -> None:
    which = words.find(WHICH_GROUP)
    if which and not words.find(EXPLICIT_GROUP):
        group_name = next(f"g{i}" for i in range(len(GROUP_NOUNS)) if which.group(f"g{i}"))
        parts.group_by = _group_of(which)
        parts.group_plural = _plural(which)
        parts.limit = _number(which.group("n")) or (None if parts.group_plural else 1)
        parts.rank = Rank.TOP
        words.use(which.start(), which.start() + 5)
        words.use(which.start(group_name), which.end(group_name))
        if which.group("n"):
            words.use(which.start("n"), which.end("n"))
    if match := words.find(EXPLICIT_GROUP):
        parts.group_by = _group_of(match)
        # "by frame brand": the qualifier is a filter, read with the filters.
        qualifier = (match.start("qualifier"), match.end("qualifier")) if match.group("qualifier") else None
        if qualifier:
            words.use(match.start(), qualifier[0])
            words.use(qualifier[1], match.end())
        else:
            words.use(match.start(), match.end())
    elif match := words.take(LEADING_GROUP):
        parts.group_by = _group_of(EXPLICIT_GROUP.search(" by " + match.group("noun") + " "))  # type: ignore[arg-type]
        parts.group_plural = True
    elif match := words.take(TIME_ADJECTIVE):
        word = match.group(1)
        parts.group_by = GroupBy(
            "month"
            if word.startswith("month")
            else "week"
            if word.startswith("week")
            else "quarter"
            if word.startswith("quarter")
            else "day"
        )
    if parts.group_by is None and (match := words.take(WHO)):
        parts.group_by = GroupBy.STAFF
        words.use(match.start(), match.start() + 3)
    # Multi-word group nouns whose words would otherwise read as filters ("lens type").
    for group, pattern in (
        (GroupBy.LENS_TYPE, r"\blens types?\b"),
        (
            GroupBy.PAYMENT_METHOD,
            r"\bpayment (?:methods?|types?)\b|\bhow (?:did |do )?(?:people|customers|patients) (?:paid|pay)\b",
        ),
        (GroupBy.STAFF, r"\bmembers? of staff\b|\bstaff members?\b"),
    ):
        if match := words.take(P(pattern)):
            if parts.group_by is None:
                parts.group_by = group
            if P(r"\b(?:which|what)\s*$").search(words.text[: match.start()]):
                parts.limit = parts.limit or (None if match.group(0).endswith("s") else 1)


def _filters(words: Words, parts: _Parts, names: PracticeNames) -> None:
    text = words.text
    filters = parts.filters
    if SUNGLASSES.search(words.rest()):
        raise QuestionBack("Sunglasses aren't a category in the catalogue: do you mean frames, or a product by name?")
    lab = LAB_CONTEXT.search(text) is not None
    recall = RECALL_CONTEXT.search(text) is not None
    if lab:
        statuses = _choices(words, lexicon.LAB_STATUS_PATTERNS)
        if statuses:
            filters["lab_status"] = statuses[0]
        words.take_all(P(r"\b(?:glasses|specs|spectacles|pairs?)\b"))
    if recall:
        kinds = _choices(words, lexicon.RECALL_KIND_PATTERNS)
        if kinds:
            filters["recall_kind"] = kinds[0]
    payment_cue = P(
        r"\b(?:paid|pay|paying|payments?|taken|took|take|takings|by|in|with|using|via|transactions?|sales?)\b"
    ).search(text)
    if payment_cue:
        methods = _choices(words, lexicon.PAYMENT_PATTERNS)
        if len(methods) > 1:
            raise QuestionBack("Which payment method do you mean: " + " or ".join(methods).replace("_", " ") + "?")
        if methods:
            filters["payment_method"] = methods[0]
    for match in SKU.finditer(words.rest()):
        if match.group(0) in names.skus:
            filters["product"] = match.group(0).upper()
            words.use(match.start(), match.end())
            parts.product_noun = True
    # Suppliers before brands when a supplier is asked for ("supplied by Silhouette UK").
    supplier_cue = SUPPLIER_CUE.search(text) is not None
    for start, end, supplier in _name_spans(words, names.suppliers):
        key = fold(words.text[start:end])
        if key in names.brands and not supplier_cue:
            continue
        filters["supplier"] = supplier
        words.use(start, end)
    if supplier_cue:
        words.take_all(SUPPLIER_CUE)
    brands = _name_spans(words, names.brands)
    if len({b for _, _, b in brands}) > 1:
        raise QuestionBack(
            "Which brand do you mean: "
            + " or ".join(sorted({b for _, _, b in brands}))
            + "? I can give one at a time, or rank brands against each other."
        )
    for start, end, brand in brands:
        filters["brand"] = brand
        words.use(start, end)
    staff = _name_spans(words, {**{k: v for k, v in names.staff.items()}}, max_words=2)
    staff = [
        (start, end, username)
        for start, end, username in staff
        if " " in words.text[start:end].strip()
        or (
            words.text[start:end].strip() not in names.product_words
            and words.text[start:end].strip() not in lexicon.GENERIC_NAME_WORDS
            and words.text[start:end].strip() not in lexicon.HARMLESS
        )
    ]
    if len({u for _, _, u in staff}) > 1:
        raise QuestionBack(
            "Which member of staff do you mean: "
            + " or ".join(sorted(names.staff_names[u] for u in {u for _, _, u in staff}))
            + "?"
        )
    for start, end, username in staff:
        filters["staff"] = username
        words.use(start, end)
    for value in _choices(words, lexicon.MATERIAL_PATTERNS)[:1]:
        filters["material"] = value
    for value in _choices(words, lexicon.COATING_PATTERNS)[:1]:
        filters["coating"] = value
    if index := words.take(P(r"\b(1\.(?:50?|53|59|6|60|67|74))(?: index| indices| idx)?\b")):
        filters["lens_index"] = f"{float(index.group(1)):.2f}"
    lens_types = _choices(words, lexicon.LENS_TYPE_PATTERNS)
    if len(lens_types) > 1:
        raise QuestionBack(
            "Which lens type do you mean: "
            + " or ".join(t.replace("_", " ") for t in lens_types)
            + "? I can give one at a time, or compare lens types by grouping them."
        )
    if lens_types:
        filters["lens_type"] = lens_types[0]
        parts.product_noun = True
    categories = _choices(words, lexicon.CATEGORY_PATTERNS)
    if len(categories) > 1:
        raise QuestionBack(
            "Which of these do you mean: "
            + " or ".join(c.replace("_", " ") for c in categories)
            + "? I can give one at a time, or group by category."
        )
    if categories:
        filters["category"] = categories[0]
        parts.product_noun = True
    product_words = []
    for match in re.finditer(r"[a-z0-9]+", words.rest()):
        token = match.group(0)
        singular = token[:-1] if token.endswith("s") else token
        if token in VOCABULARY or token in lexicon.HARMLESS or token in lexicon.METRIC_NOISE:
            continue
        if token in names.product_words or singular in names.product_words:
            product_words.append((match.start(), match.end(), token if token in names.product_words else singular))
    if product_words and "product" not in filters:
        last_end = product_words[-1][1]
        pack = re.match(r"\s+(\d{1,3}) ?(?:packs?|pk)\b", words.rest()[last_end:])
        if pack:  # "Biofinity Toric 6 packs": the pack size names the product too
            product_words.append((last_end, last_end + pack.end(), f"{pack.group(1)} pack"))
        filters["product"] = " ".join(word for _, _, word in product_words)
        for start, end, _ in product_words:
            words.use(start, end)
        parts.product_noun = True
    if GLASSES.search(words.rest()):
        if "lab_status" in filters or lab:
            words.take_all(GLASSES)
        elif "category" not in filters and "lens_type" not in filters:
            raise QuestionBack("Do you mean frames or spectacle lenses? I count them separately.")
        else:
            words.take_all(GLASSES)
    _settle_lens_category(filters, names)


def _settle_lens_category(filters: dict[str, Any], names: PracticeNames) -> None:
    """ "Lenses" of a contact lens brand are contact lenses; lens filters imply spectacle lenses."""
    brand = filters.get("brand")
    if filters.get("category") == Category.SPECTACLE_LENS and brand:
        categories = names.brand_categories.get(brand, set())
        if Category.SPECTACLE_LENS not in categories and Category.CONTACT_LENS in categories:
            filters["category"] = Category.CONTACT_LENS
    if filters.get("category") == Category.SPECTACLE_LENS and (
        filters.get("lens_type") or filters.get("lens_index") or filters.get("material") or filters.get("coating")
    ):
        del filters["category"]  # the lens filter says it already


def _groups_after_filters(words: Words, parts: _Parts) -> None:
    # "Which frame did we sell most of": the product noun was read as a filter.
    if parts.group_by is None and (
        P(r"\b(?:which|what)\b").search(words.text)
        and parts.product_noun
        and (RANK_TOP.search(words.text) or RANK_BOTTOM.search(words.text))
        and not words.find(P(rf"\b(?:{GROUP_WORDS})\b"))
    ):
        parts.group_by = GroupBy.PRODUCT
    if limit := words.take(LIMIT):
        parts.limit = _number(limit.group(1) or limit.group(2))
        words.use(limit.start(), limit.end())
    elif (counted := WHICH_NUMBER.search(words.text)) and words.rest()[counted.start(1) : counted.end(1)].strip():
        # "Which five frames sold the most": the number of rows asked for.
        parts.limit = _number(counted.group(1))
        words.use(counted.start(1), counted.end(1))
    bottom = RANK_BOTTOM.search(words.text)
    top = RANK_TOP.search(words.text)
    for hint_metric, hint in RANK_METRIC_HINTS:
        if hint.search(words.text) and parts.metric is None:
            parts.metric = hint_metric
    if bottom:
        parts.rank = Rank.BOTTOM
    elif top:
        parts.rank = parts.rank or Rank.TOP
    words.take_all(RANK_BOTTOM)
    words.take_all(RANK_TOP)
    if parts.rank is not None and parts.group_by is None:
        rest_group = words.take(P(rf"\b(?:{GROUP_WORDS})\b"))
        if rest_group:
            parts.group_by = _group_of(rest_group)
            parts.group_plural = _plural(rest_group)
        elif parts.product_noun:
            parts.group_by = GroupBy.PRODUCT
            parts.group_plural = bool(re.search(r"s\b", " ".join(words.text.split()[-4:])))
    if parts.rank is not None and parts.limit is None:
        parts.limit = 5 if parts.group_plural else 1
    if parts.group_by is not None:
        words.take_all(BREAKDOWN)
        words.take_all(P(rf"\b(?:{GROUP_WORDS})\b"))


def _metric(words: Words, parts: _Parts) -> None:
    explicit = None
    for metric, pattern in METRIC_RULES:
        if metric in (Metric.LAB_JOBS,) and not LAB_CONTEXT.search(words.text):
            continue
        if metric in (Metric.RECALLS_DUE, Metric.RECALLS_OVERDUE) and not RECALL_CONTEXT.search(words.text):
            continue
        if metric == Metric.STOCK_ON_HAND and LOW_STOCK.search(words.text):
            continue
        if metric == Metric.STOCK_ON_HAND and (RECALL_CONTEXT.search(words.text) or LAB_CONTEXT.search(words.text)):
            # "how many recalls do we have due", "jobs have we got at the lab": having, not stock.
            pattern = STOCK_NAMED
        match = pattern.search(words.rest())
        if match:
            explicit = metric
            words.use(match.start(), match.end())
            break
    if explicit is not None:
        hinted = parts.metric
        # A ranking word's hint ("busiest") gives way to a figure named outright ("revenue"),
        # except that "sold the most" over units is still units.
        if (
            hinted is None
            or explicit not in (Metric.UNITS, Metric.REVENUE)
            or (
                explicit == Metric.REVENUE
                and P(r"\b(?:revenue|takings|turnover|income|money|£|pounds|value|worth)\b").search(words.text)
            )
        ):
            parts.metric = explicit
    if parts.metric == Metric.RECALLS_DUE and P(r"\boverdue\b|\bpast due\b").search(words.text):
        parts.metric = Metric.RECALLS_OVERDUE
    if parts.filters.get("lab_status") and parts.metric in (None, Metric.UNITS, Metric.SALES):
        parts.metric = Metric.LAB_JOBS
    if parts.metric in (Metric.RECALLS_DUE, Metric.RECALLS_OVERDUE):
        words.take_all(P(r"\brecalls?\b|\bdue\b|\boverdue\b|\bpatients?\b"))
    if parts.metric == Metric.LAB_JOBS:
        words.take_all(P(r"\blab\b|\bjobs?\b|\bglazing\b|\bwaiting (?:on|for)\b"))
    if parts.metric is None and parts.filters and HOW_MANY.search(words.text):
        parts.metric = Metric.UNITS
    if parts.metric in COST_METRICS:
        words.take_all(P(r"\b(?:cost )?prices?\b"))
    if parts.metric is not None:
        for metric, pattern in METRIC_RULES:
            if metric == parts.metric:
                words.take_all(pattern)
        noise_words = lexicon.METRIC_NOISE
        if parts.metric in (Metric.AVERAGE_SALE_VALUE, Metric.AVERAGE_UNITS_PER_SALE):
            noise_words = noise_words | lexicon.AVERAGE_WORDS
        noise = "|".join(sorted(noise_words, key=len, reverse=True))
        words.take_all(P(rf"\b(?:{noise})\b"))
        words.take_all(
            P(
                r"\b(?:on average|in total|at cost(?: prices?)?|right now|so far|to date|in value terms|in units|by revenue|by units|by value|up or down)\b"
            )
        )


def _ignorable(word: str, written_names: frozenset[str]) -> bool:
    """A word left over that carries nothing: a word of asking, or ordinary English that names no
    figure, filter or period (``lexicon.ordinary_words``), not written as a name, and not one of the
    parser's own words left unread."""
    if word in lexicon.HARMLESS or word in lexicon.METRIC_NOISE:
        return True
    return word in lexicon.ordinary_words() and word not in written_names and word not in UNREAD_VOCABULARY


def _check_leftovers(words: Words, parts: _Parts, written_names: frozenset[str]) -> None:
    # "Revenue by lens material", "units by type": a grouping the parser cannot make is asked
    # back, not answered as one total.
    unread_group = next(
        (m for m in BY_SOMETHING.finditer(words.text) if not any(words.used[m.start() : m.end()])), None
    )
    if unread_group:
        raise QuestionBack(
            f"I can't break figures down by “{unread_group.group(1)}”. I can group them by month, week, day, "
            "quarter, brand, category, lens type, supplier, product, staff or payment method."
        )
    for match in SINGLE_EMPHASIS.finditer(words.text):  # the noun itself may be read already
        words.use(match.start(), match.end())
    unread = unread_time_words(words.rest(), [])
    if unread:
        shown = " ".join(unread)
        suggestion = f" Did you mean {parts.period.words()}?" if parts.period else ""
        raise QuestionBack(f"I couldn't tell which period “{shown}” means.{suggestion}")
    unknown = [
        word for word in words.leftovers() if word.strip("'.-&+") and not _ignorable(word.strip("'.-&+"), written_names)
    ]
    if unknown and set(unknown) <= LOGIC_WORDS:
        shown = ", ".join(f"“{word}”" for word in dict.fromkeys(unknown))
        raise QuestionBack(
            f"I can't answer a question with {shown} in it yet: I give one figure for a period with filters "
            "(a brand, product, category, staff member), or group and rank them. Could you ask it that way?"
        )
    if unknown:
        shown = ", ".join(f"“{word}”" for word in dict.fromkeys(unknown))
        raise QuestionBack(
            f"I didn't understand {shown} in that question. If it is a brand, a product, a supplier or a member of "
            "staff, please write it as it appears in the catalogue."
        )


def _next_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _query(parts: _Parts, today: date, text: str) -> Reading:
    metric = parts.metric
    assert metric is not None
    period = parts.period
    needs_period = metric in SALES_METRICS or metric == Metric.PATIENTS_SEEN
    if metric in STOCK_METRICS:
        period = None
        parts.compare = None
    if needs_period and period is None:
        example = today.replace(day=1)
        raise QuestionBack(
            f"For which period? For example this month ({example.day}–{today.day} {today:%B %Y}), last month, "
            "or this year."
        )
    if (
        period is not None
        and metric == Metric.RECALLS_DUE
        and period.end < today
        and not re.search(r"\b(?:19|20)\d{2}\b|last|previous|ago|past|since", parts.period_phrase)
    ):
        # Recalls fall due ahead: "due in December" asked in November means the coming one.
        label = period.label.replace(str(period.start.year), str(period.start.year + 1))
        period = Period(_next_year(period.start), _next_year(period.end), label)
    if period is not None and metric != Metric.RECALLS_DUE and metric != Metric.RECALLS_OVERDUE:
        if period.start > today:
            raise QuestionBack(
                f"{period.words()} hasn't happened yet: I can only give figures up to today ({today.day} {today:%B %Y})."
            )
        if period.end > today:
            period = Period(period.start, today, period.label)
    if parts.rank is not None and parts.group_by is None:
        raise QuestionBack("Ranked by what: products, brands, months or staff?")
    if BREAKDOWN.search(text) and parts.group_by is None:
        raise QuestionBack("Broken down by what: month, week, brand, category, lens type, staff or payment method?")
    arguments: dict[str, Any] = {"metric": metric.value, **parts.filters}
    if period is not None:
        arguments.update(start=period.start.isoformat(), end=period.end.isoformat(), period=period.label)
    if parts.compare is not None and parts.group_by is None:
        arguments["compare"] = parts.compare.value
    if parts.group_by is not None:
        arguments["group_by"] = parts.group_by.value
        if parts.rank is not None:
            arguments["rank"] = parts.rank.value
            arguments["limit"] = parts.limit or 1
        elif parts.limit and parts.group_by not in TIME_GROUPS:
            arguments["limit"] = parts.limit
    if metric in COST_METRICS and "payment_method" in arguments:
        raise QuestionBack("Margins are worked out per product, so they can't be split by payment method.", "cannot")
    try:
        query = DataQuery.model_validate(arguments)
    except ValidationError as error:
        raise QuestionBack(f"I can't answer that as asked ({validation_message(error)}).", "cannot") from None
    return Reading(kind="query", query=query, period_via=parts.period_via)


def period_delta(days: int) -> timedelta:
    return timedelta(days=days)
