"""The words the question parser knows: the choice values of ``practice.models.choices`` with
the ways staff write them, the practice's own brands, suppliers, product names and staff (read
from the database), the words that carry no meaning of their own, and typo correction.

Every enumeration is keyed by the choice values themselves, and each choice's own label is one
of its phrasings, so a value added to the choices is understood by its label at once.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from practice.models import Category, Coating, LabJobStatus, LensMaterial, LensType, PaymentMethod, RecallKind

# Extra phrasings per choice value (regular expressions over normalised text).
CATEGORY_SYNONYMS: dict[str, list[str]] = {
    Category.FRAME: [r"frames?", r"eyeglass frames?", r"spectacle frames?"],
    Category.SPECTACLE_LENS: [
        r"spectacle lens(?:es)?",
        r"specs? lens(?:es)?",
        r"(?:eye)?glass(?:es)? lens(?:es)?",
        r"lens(?:es)?",
    ],
    Category.CONTACT_LENS: [
        r"contact lens(?:es)?",
        r"contacts",
        r"cls",
        r"cl(?! aftercare| check)",
        r"contact lens boxes",
    ],
    Category.ACCESSORY: [r"accessor(?:y|ies)"],
    Category.SOLUTION: [r"solutions?", r"contact lens solutions?", r"lens solutions?", r"eye ?drops", r"drops"],
}
LENS_TYPE_SYNONYMS: dict[str, list[str]] = {
    LensType.SINGLE_VISION: [r"single[- ]?vision(?: lens(?:es)?)?", r"sv lens(?:es)?", r"svs?"],
    LensType.BIFOCAL: [r"bifocals?(?: lens(?:es)?)?", r"bi-focals?"],
    LensType.PROGRESSIVE: [
        r"progressives?(?: lens(?:es)?)?",
        r"varifocals?(?: lens(?:es)?)?",
        r"pals?",
        r"progresives?",
    ],
    LensType.OCCUPATIONAL: [r"occupational(?: lens(?:es)?)?", r"office lens(?:es)?", r"computer lens(?:es)?"],
}
MATERIAL_SYNONYMS: dict[str, list[str]] = {
    LensMaterial.CR39: [r"cr-?39", r"hard resin", r"standard resin"],
    LensMaterial.TRIVEX: [r"trivex"],
    LensMaterial.POLYCARBONATE: [r"polycarbonate", r"polycarb", r"poly"],
    LensMaterial.HIGH_INDEX: [r"high[- ]index", r"hi[- ]index", r"thin(?:ned)? lens(?:es)?"],
    LensMaterial.GLASS: [r"glass lens(?:es)?", r"mineral glass"],
}
COATING_SYNONYMS: dict[str, list[str]] = {
    Coating.ANTI_REFLECTIVE: [
        r"anti[- ]?reflect(?:ive|ion)(?: coat(?:ing|ed)?)?",
        r"anti[- ]?glare",
        r"ar[- ]coat(?:ing|ed)?",
    ],
    Coating.BLUE_FILTER: [r"blue[- ]?(?:light )?filter(?:s|ing)?", r"blue[- ]light", r"blue[- ]?control"],
    Coating.PHOTOCHROMIC: [r"photochromics?", r"transitions?", r"light[- ]reactive"],
    Coating.HARD_COAT: [r"hard[- ]?coat(?:ed|ing)?", r"scratch[- ]resistant"],
    Coating.UV: [r"uv(?: protection| filter| coat(?:ing)?)?", r"uv400"],
}
PAYMENT_SYNONYMS: dict[str, list[str]] = {
    PaymentMethod.CARD: [r"cards?", r"credit cards?", r"debit cards?", r"contactless", r"chip and pin"],
    PaymentMethod.CASH: [r"cash"],
    PaymentMethod.BANK_TRANSFER: [r"bank transfers?", r"bacs", r"transfers?"],
    PaymentMethod.NHS_VOUCHER: [r"nhs(?: optical)? vouchers?", r"nhs"],
    PaymentMethod.GIFT_VOUCHER: [r"gift vouchers?", r"gift cards?"],
}
LAB_STATUS_SYNONYMS: dict[str, list[str]] = {
    LabJobStatus.ORDERED: [r"not (?:yet )?sent(?: to the lab)?", r"waiting to go to the lab", r"still to be sent"],
    LabJobStatus.AT_LAB: [
        r"(?:waiting |still |out )?at the lab",
        r"at lab",
        r"with the lab",
        r"in the lab",
        r"at the glazing lab",
        r"(?:waiting|still) (?:at|with) the lab",
    ],
    LabJobStatus.READY: [
        r"ready (?:for|to) (?:be )?collect(?:ion|ed)?",
        r"awaiting collection",
        r"waiting (?:for|to be) collect(?:ion|ed)",
        r"waiting to be picked up",
        r"ready (?:for|to be) pick(?:ed)? ?up",
        r"ready",
    ],
    LabJobStatus.COLLECTED: [r"collected", r"picked up", r"handed over"],
    LabJobStatus.CANCELLED: [r"cancel(?:l)?ed"],
    LabJobStatus.REMAKE: [r"(?:on |being )?remakes?", r"remade", r"being remade", r"redos?"],
}
RECALL_KIND_SYNONYMS: dict[str, list[str]] = {
    RecallKind.EYE_EXAM: [r"eye (?:exam(?:ination)?s?|tests?)", r"sight tests?", r"examinations?"],
    RecallKind.CL_AFTERCARE: [r"(?:contact lens |cl )?aftercares?", r"contact lens (?:check|review)s?"],
}


def _label_pattern(label: str) -> str:
    words = re.sub(r"\(.*?\)", "", str(label)).strip().lower()
    return re.escape(words).replace(r"\ ", r"[ -]") + r"(?:e?s)?"


def choice_patterns(
    choices: Any, synonyms: dict[str, list[str]], *, synonyms_only: tuple[str, ...] = ()
) -> list[tuple[str, re.Pattern[str]]]:
    """(value, pattern) for every choice: its label, its value written out and the synonyms;
    longer phrasings first so that "contact lens solution" is not read as "contact lens".
    `synonyms_only`: values whose label would misread ordinary words ("glass" in "glasses")."""
    unknown = set(synonyms) - set(choices.values)
    assert not unknown, f"synonyms for values that are not choices: {unknown}"
    pairs: list[tuple[str, str]] = []
    for value, label in choices.choices:
        if value not in synonyms_only:
            pairs.append((value, _label_pattern(label)))
            pairs.append((value, _label_pattern(value.replace("_", " "))))
        pairs.extend((value, pattern) for pattern in synonyms.get(value, []))
    pairs.sort(key=lambda pair: -len(pair[1]))
    return [(value, re.compile(rf"\b(?:{pattern})\b")) for value, pattern in pairs]


CATEGORY_PATTERNS = choice_patterns(Category, CATEGORY_SYNONYMS)
LENS_TYPE_PATTERNS = choice_patterns(LensType, LENS_TYPE_SYNONYMS)
MATERIAL_PATTERNS = choice_patterns(LensMaterial, MATERIAL_SYNONYMS, synonyms_only=(LensMaterial.GLASS,))
COATING_PATTERNS = choice_patterns(Coating, COATING_SYNONYMS)
PAYMENT_PATTERNS = choice_patterns(PaymentMethod, PAYMENT_SYNONYMS)
LAB_STATUS_PATTERNS = choice_patterns(LabJobStatus, LAB_STATUS_SYNONYMS)
RECALL_KIND_PATTERNS = choice_patterns(RecallKind, RECALL_KIND_SYNONYMS)

# Words that carry no figure, filter or period of their own.
_HARMLESS_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "but",
        "as",
        "about",
        "over",
        "during",
        "within",
        "into",
        "out",
        "up",
        "down",
        "across",
        "through",
        "each",
        "every",
        "all",
        "any",
        "some",
        "what",
        "whats",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "when",
        "where",
        "why",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "get",
        "got",
        "gotten",
        "getting",
        "we",
        "weve",
        "wed",
        "our",
        "ours",
        "ourselves",
        "us",
        "i",
        "id",
        "im",
        "ive",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "it",
        "its",
        "they",
        "their",
        "them",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "please",
        "pls",
        "plz",
        "thanks",
        "thank",
        "cheers",
        "ta",
        "hi",
        "hello",
        "hey",
        "hiya",
        "can",
        "could",
        "would",
        "should",
        "shall",
        "might",
        "must",
        "tell",
        "show",
        "give",
        "let",
        "know",
        "find",
        "see",
        "look",
        "check",
        "list",
        "want",
        "need",
        "like",
        "just",
        "quick",
        "quickly",
        "roughly",
        "approximately",
        "approx",
        "around",
        "total",
        "totals",
        "overall",
        "altogether",
        "combined",
        "number",
        "numbers",
        "amount",
        "count",
        "figure",
        "figures",
        "many",
        "much",
        "so",
        "far",
        "yet",
        "still",
        "also",
        "too",
        "then",
        "than",
        "more",
        "less",
        "fewer",
        "versus",
        "vs",
        "compared",
        "compare",
        "comparing",
        "comparison",
        "against",
        "sell",
        "sold",
        "sells",
        "selling",
        "shift",
        "shifted",
        "shifting",
        "move",
        "moved",
        "went",
        "go",
        "going",
        "gone",
        "door",
        "ring",
        "rang",
        "rung",
        "make",
        "made",
        "making",
        "take",
        "took",
        "taken",
        "taking",
        "bring",
        "brought",
        "brings",
        "earn",
        "earned",
        "earnt",
        "generate",
        "generated",
        "achieve",
        "achieved",
        "shop",
        "store",
        "practice",
        "business",
        "items",
        "item",
        "products",
        "product",
        "things",
        "stuff",
        "units",
        "unit",
        "pieces",
        "boxes",
        "box",
        "pairs",
        "pair",
        "quantity",
        "volume",
        "currently",
        "current",
        "now",
        "right",
        "moment",
        "exactly",
        "precisely",
        "only",
        "including",
        "included",
        "include",
        "includes",
        "inclusive",
        "altogether",
        "whole",
        "entire",
        "full",
        "kind",
        "sort",
        "type",
        "types",
        "lot",
        "lots",
        "bit",
        "quite",
        "really",
        "very",
        "actually",
        "again",
        "ok",
        "okay",
        "oh",
        "um",
        "er",
        "well",
        "yes",
        "terms",
        "paid",
        "pay",
        "paying",
        "payment",
        "payments",
        "flog",
        "flogged",
        "flogging",
        "dispense",
        "dispensed",
        "dispensing",
        "any",
        "anything",
        "something",
        "everything",
        "much",
        "such",
        "own",
        "one",
        "ones",
        "do",
        "up",
        "down",
    ]
)
# The words of asking politely or in passing, which change nothing of what is asked.
CONVERSATION = frozenset(
    [
        "sorry",
        "bother",
        "bothering",
        "possibly",
        "possible",
        "able",
        "wonder",
        "wondering",
        "wondered",
        "if",
        "whether",
        "kindly",
        "mind",
        "appreciate",
        "appreciated",
        "grateful",
        "great",
        "brilliant",
        "lovely",
        "perfect",
        "fab",
        "fantastic",
        "super",
        "cool",
        "awesome",
        "nice",
        "good",
        "fine",
        "help",
        "helping",
        "helpful",
        "question",
        "questions",
        "query",
        "quick",
        "quickly",
        "curious",
        "interested",
        "looking",
        "trying",
        "try",
        "wanted",
        "wanting",
        "wants",
        "need",
        "needed",
        "needs",
        "like",
        "liked",
        "love",
        "would'd",
        "we've",
        "we'd",
        "we'll",
        "i've",
        "i'd",
        "i'll",
        "i'm",
        "you're",
        "you've",
        "it's",
        "that's",
        "there's",
        "here's",
        "what's",
        "who's",
        "how's",
        "how'd",
        "what'd",
        "y'all",
        "let's",
        "mate",
        "guys",
        "team",
        "everyone",
        "folks",
        "boss",
        "dear",
        "sir",
        "madam",
        "am",
        "pm",
        "real",
        "really",
        "honestly",
        "basically",
        "literally",
        "actually",
        "just",
        "simply",
        "also",
        "anyway",
        "anyhow",
        "btw",
        "fyi",
        "asap",
        "urgently",
        "urgent",
        "remind",
        "reminder",
        "remember",
        "confirm",
        "confirming",
        "double-check",
        "check",
        "checking",
        "pull",
        "up",
        "bring",
        "run",
        "report",
        "reports",
        "reporting",
        "see",
        "seeing",
        "view",
        "viewing",
        "display",
        "print",
        "send",
        "fetch",
        "grab",
        "grabbed",
        "find",
        "finding",
        "figure",
        "out",
        "work",
        "working",
        "idea",
        "ideas",
        "rough",
        "roughly",
        "ballpark",
        "about",
        "approximately",
        "approx",
        "near",
        "nearly",
        "around",
        "give",
        "giving",
        "show",
        "showing",
        "tell",
        "telling",
        "let",
        "know",
        "knowing",
        "think",
        "thought",
        "guess",
        "guessing",
        "sure",
        "maybe",
        "perhaps",
        "kind",
        "of",
        "sort",
        "of",
        "overall",
        "altogether",
        "combined",
        "whole",
        "entire",
        "full",
        "complete",
        "exactly",
        "exact",
        "precise",
        "precisely",
        "currently",
        "present",
        "moment",
        "presently",
        "latest",
        "recent",
        "recently",
        "lately",
        "please",
        "plz",
        "pls",
        "ta",
        "thanks",
        "thank",
        "thankyou",
        "cheers",
        "ok",
        "okay",
        "alright",
        "right",
        "yes",
        "yeah",
        "yep",
        "hey",
        "hi",
        "hello",
        "hiya",
        "morning",
        "afternoon",
        "evening",
        "today's",
        "store's",
        "shop's",
        "practice's",
        "business's",
        "company",
        "company's",
        "our",
        "ours",
        "we",
        "us",
        "store",
        "shop",
        "practice",
        "business",
        "till",
        "system",
        "records",
        "record",
        "figures",
        "numbers",
        "number",
        "data",
        "stats",
        "statistics",
        "summary",
        "overview",
        "update",
        "total",
        "totals",
        "tally",
        "sum",
        "amount",
        "count",
        "counts",
        "tallies",
        "rundown",
        "run-down",
        "lowdown",
        "accountant",
        "accounts",
        "bookkeeper",
        "meeting",
        "performing",
        "performed",
        "performance",
        "doing",
        "did",
        "do",
        "done",
        "came",
        "come",
        "coming",
    ]
)
HARMLESS = _HARMLESS_WORDS | CONVERSATION
# Once their figure is known, words about it mean nothing more.
METRIC_NOISE = frozenset(
    [
        "sale",
        "sales",
        "revenue",
        "takings",
        "turnover",
        "income",
        "money",
        "worth",
        "value",
        "valued",
        "spend",
        "spent",
        "spending",
        "basket",
        "transaction",
        "transactions",
        "order",
        "orders",
        "size",
        "sold",
        "sell",
        "stock",
        "stocked",
        "level",
        "levels",
        "hand",
        "held",
        "hold",
        "holding",
        "margin",
        "margins",
        "profit",
        "cost",
        "costs",
        "pounds",
        "gbp",
    ]
)
# Words of an average, which mean nothing more only when the figure is an average.
AVERAGE_WORDS = frozenset(["average", "averaged", "averages", "mean", "avg", "typical", "per"])


ABBREVIATIONS = {
    "lst": "last",
    "mnth": "month",
    "mth": "month",
    "mths": "months",
    "yr": "year",
    "yrs": "years",
    "wk": "week",
    "wks": "weeks",
    "qtr": "quarter",
    "qtrs": "quarters",
    "thsi": "this",
    "teh": "the",
    "yday": "yesterday",
    "ystrday": "yesterday",
    "yest": "yesterday",
    "tmrw": "tomorrow",
    "rev": "revenue",
    "qty": "units",
    "prog": "progressive",
    "progs": "progressives",
    "varis": "varifocals",
    "specs": "specs",
    "howmany": "how many",
    "hw": "how",
    "mny": "many",
    "u": "you",
    "sel": "sell",
    "wek": "week",
    "frm": "from",
    "mont": "month",
    "val": "value",
    "vals": "values",
}
PERIOD_WORDS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "month",
        "months",
        "week",
        "weeks",
        "year",
        "years",
        "quarter",
        "quarters",
        "yesterday",
        "today",
        "last",
        "previous",
        "since",
    ]
)

# What typos are corrected towards (with the practice's own names added at run time).
CORRECTABLE = PERIOD_WORDS | frozenset(
    [
        "frames",
        "frame",
        "lenses",
        "lens",
        "progressive",
        "progressives",
        "varifocal",
        "varifocals",
        "single",
        "vision",
        "bifocal",
        "bifocals",
        "occupational",
        "contact",
        "contacts",
        "accessories",
        "accessory",
        "solutions",
        "solution",
        "revenue",
        "takings",
        "turnover",
        "units",
        "sales",
        "sold",
        "sell",
        "average",
        "margin",
        "profit",
        "stock",
        "between",
        "financial",
        "transactions",
        "spectacle",
        "polycarbonate",
        "photochromic",
        "recalls",
        "overdue",
        "patients",
        "seen",
        "collection",
        "collected",
        "remake",
        "many",
        "much",
        "how",
        "what",
        "which",
        "value",
        "brand",
        "brands",
        "supplier",
        "suppliers",
    ]
)


def fold(text: str) -> str:
    """Lower case without accents or punctuation, for matching names ("Théa" = "thea", "Ray-Ban" = "rayban")."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", text.replace("&", "and").replace("+", "and"))


def correct_typos(
    words: list[str], known: frozenset[str], targets: frozenset[str], *, names: frozenset[str] = frozenset()
) -> list[str]:
    """Each unknown word of three letters or more replaced by the target it is closest to (difflib
    ratio ≥ 0.8, 0.85 for three letters, same first letter), or left as it is. A brand's name
    (`names`) is corrected only from one slip away ("oakely"), since another brand may be close."""
    corrected = []
    for word in words:
        if word in ABBREVIATIONS:
            corrected.append(ABBREVIATIONS[word])
            continue
        if len(word) < 3 or not word.isalpha() or word in known or word in targets or word in names:
            corrected.append(word)
            continue
        swapped = _transposed(word, targets | names)
        if swapped:
            corrected.append(swapped)
            continue
        # Typos rarely touch the first letter; a word that differs there ("Smarch") is not corrected.
        cutoff = 0.8 if len(word) > 3 else 0.85
        close = [c for c in difflib.get_close_matches(word, targets, n=3, cutoff=cutoff) if c[0] == word[0]]
        # A period word changes the figure: only one letter away ("octobr"), never a made-up month ("Octember").
        close = [c for c in close if c not in PERIOD_WORDS or _one_edit(word, c)]
        if not close and len(word) >= 5:
            close = [c for c in names if c[0] == word[0] and _one_edit(word, c)]
            close = close if len(close) == 1 else []
        corrected.append(close[0] if close else word)
    return corrected


def _one_edit(word: str, target: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        different = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(different) == 1 or (
            len(different) == 2 and different[1] == different[0] + 1 and word[different[0]] == target[different[1]]
        )
    shorter, longer = sorted((word, target), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _transposed(word: str, targets: frozenset[str]) -> str | None:
    """The target that `word` is with two neighbouring letters swapped ("yaer" -> "year")."""
    for index in range(1, len(word) - 1):
        candidate = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
        if candidate in targets:
            return candidate
    return None


# --- the practice's own names ------------------------------------------------------------------------

GENERIC_NAME_WORDS = frozenset(
    [
        "uk",
        "eyewear",
        "optical",
        "optics",
        "lens",
        "lenses",
        "vision",
        "supplies",
        "lab",
        "laboratory",
        "ltd",
        "limited",
        "the",
        "and",
        "of",
        "for",
        "plus",
        "pack",
        "day",
        "daily",
        "monthly",
        "weekly",
        "two",
        "weekly",
        "single",
        "progressive",
        "bifocal",
        "occupational",
        "standard",
        "thin",
        "extra",
        "ultra",
        "hard",
        "coat",
        "anti",
        "reflective",
        "blue",
        "filter",
        "transitions",
        "with",
        "case",
        "cloth",
        "spray",
        "wipes",
        "drops",
        "eye",
        "eyes",
        "frame",
        "frames",
        "kit",
        "pair",
        "replacement",
        "ready",
        "readers",
        "series",
        "max",
        "comfort",
        "hand",
        "night",
        "moist",
        "round",
        "metal",
        "light",
        "clip",
        "clips",
        "case",
        "cases",
        "strip",
        "spirit",
        "icon",
        "illusion",
        "momentum",
        "air",
        "aqua",
        "define",
        "total",
        "heat",
        "mask",
        "original",
        "duo",
        "travel",
        "free",
        "sports",
        "strap",
        "chain",
        "cord",
        "leather",
        "magnetic",
        "stand",
        "nose",
        "pads",
        "lite",
        "rim",
        "room",
        "desk",
        "start",
        "smart",
        "life",
        "clear",
        "view",
        "office",
        "executive",
        "black",
        "tan",
        "slim",
        "folding",
        "hard",
        "zip",
        "microfibre",
        "cleaning",
        "fog",
        "repair",
        "triple",
        "screw",
        "soft",
        "tip",
        "polarised",
        "sun",
        "range",
        "multipurpose",
        "light",
        "best",
        "most",
        "prescription",
        "prescriptions",
    ]
)


@dataclass
class PracticeNames:
    """Brands, suppliers, product names and staff of this practice, as the parser matches them."""

    brands: dict[str, str] = field(default_factory=dict)  # folded phrase -> brand
    brand_categories: dict[str, set[str]] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)  # folded phrase -> supplier
    product_words: set[str] = field(default_factory=set)  # distinctive words of product names
    skus: set[str] = field(default_factory=set)
    staff: dict[str, str] = field(default_factory=dict)  # folded name part -> username
    staff_names: dict[str, str] = field(default_factory=dict)  # username -> full name

    @property
    def words(self) -> frozenset[str]:
        """Every word of every name (so that they are not "corrected")."""
        found: set[str] = set(self.product_words)
        for phrase in (*self.brand_phrases, *self.supplier_phrases, *self.staff_phrases):
            found.update(phrase.split())
        return frozenset(found)

    brand_phrases: list[str] = field(default_factory=list)
    supplier_phrases: list[str] = field(default_factory=list)
    staff_phrases: list[str] = field(default_factory=list)


def _phrase(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9&+]+", " ", text).split())


def practice_names() -> PracticeNames:
    """Read from the catalogue and the staff (a few hundred rows: cheap per question)."""
    from django.contrib.auth import get_user_model

    from practice.models import Product

    names = PracticeNames()
    products = list(Product.objects.values_list("brand", "supplier", "model", "sku", "category"))
    brand_words: dict[str, set[str]] = {}
    for brand, _, _, _, category in products:
        names.brand_categories.setdefault(brand, set()).add(category)
        for word in _phrase(brand).split():
            brand_words.setdefault(word, set()).add(brand)
    for brand in names.brand_categories:
        phrase = _phrase(brand)
        names.brands[fold(brand)] = brand
        names.brand_phrases.append(phrase)
        words = phrase.split()
        # A distinctive word of a longer brand names it alone ("Boss", "Bausch", "Johnson").
        for word in words if len(words) > 1 else []:
            if (
                len(word) >= 4
                and brand_words.get(word) == {brand}
                and word not in HARMLESS
                and word not in GENERIC_NAME_WORDS
            ):
                names.brands.setdefault(fold(word), brand)
    for supplier in {row[1] for row in products if row[1]}:
        names.suppliers[fold(supplier)] = supplier
        names.supplier_phrases.append(_phrase(supplier))
        core = [w for w in _phrase(supplier).split() if w not in GENERIC_NAME_WORDS]
        if core and fold(" ".join(core)) not in names.brands:
            names.suppliers.setdefault(fold(" ".join(core)), supplier)
        # "Carl Zeiss Vision": the name without its trailing "UK" (a generic word inside it stays).
        short = re.sub(r"(?: uk| ltd| limited)+$", "", _phrase(supplier))
        if short and fold(short) not in names.brands:
            names.suppliers.setdefault(fold(short), supplier)
    brand_tokens = {w for phrase in names.brand_phrases for w in phrase.split()}
    for _, _, model, sku, _ in products:
        names.skus.add(sku.lower())
        for word in _phrase(model).split():
            if (
                len(word) >= 4
                and not re.fullmatch(r"[\d.]+(?:ml|x\d+)?|x\d+", word)
                and word not in GENERIC_NAME_WORDS
                and word not in HARMLESS
                and word not in brand_tokens
            ):
                names.product_words.add(word)
    for user in get_user_model().objects.filter(is_active=True, is_staff=True):
        username = user.get_username()
        full = user.get_full_name()
        names.staff_names[username] = full or username
        for part in {username.lower(), *(_phrase(full).split() if full else [])}:
            names.staff.setdefault(part, username)
        if full:
            names.staff[_phrase(full)] = username
            names.staff_phrases.append(_phrase(full))
    return names


# --- ordinary English ----------------------------------------------------------------------------------


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


# How common a word must be to count as ordinary English (wordfreq's Zipf scale: 3.5 is about
# three uses in a million words). Rarer words are mostly names, brands and jargon, asked back.
ORDINARY_ZIPF = 3.5
# Ordinary words that change what is asked, so that leaving them out would answer another
# question with a figure that looks right: asked back unless a rule of the parser reads them.
MEANINGFUL_WORDS: dict[str, frozenset[str]] = {
    "logic": _listed(
        "not no never nor neither none nothing except excluding exclude excluded without apart other others else "
        "besides minus instead rather unless non only alone exclusively solely"
    ),
    "arithmetic": _listed(
        "per percent percentage percentages proportion proportions share ratio ratios rate rates fraction half halves "
        "double twice triple quarter mean median mode max maximum min minimum cumulative running net gross "
        "difference differences growth average averages each individual individually separate separately "
        "multiplied divided split estimate estimated projected target targets budget budgeted goal"
    ),
    "amounts": _listed(
        "above below under over beyond exceeding exceed exceeded least most cheap cheaper cheapest expensive pricey "
        "pricier priciest costly premium luxury price priced prices pricing discount discounts discounted offer "
        "offers promotion promotions promo deal deals free complimentary reduced clearance coupon coupons loyalty "
        "bundle bundles package packages dollars dollar euros euro bucks cents grand thousand thousands million "
        "hundred hundreds dozen tax vat duty excl incl inc ex"
    ),
    "people": _listed(
        "kids kid children child childrens junior juniors teen teens teenager teenagers student students adult "
        "adults men mens man woman women womens ladies lady gents gentlemen male males female females boy boys "
        "girl girls baby babies senior seniors elderly older younger old young family families couple couples new "
        "existing returning repeat regular regulars loyal private insured insurance corporate trade employee "
        "employees customer customers client clients patient member members public locals local tourists"
    ),
    "products": _listed(
        "sun sunglasses shades goggles readers reading safety sport sports swimming swim ski driving rimless "
        "titanium metal plastic acetate wood wooden gold silver black brown red green pink purple white grey gray "
        "yellow orange colour color colours colors coloured colored tinted tint tints polarised polarized mirrored "
        "designer branded generic toric multifocal multifocals daily dailies monthly monthlies fortnightly "
        "disposable disposables extended spherical astigmatism myopia large small medium big tiny round square "
        "oval aviator aviators frameless hearing aid aids repair repairs adjustment adjustments service services "
        "fitting fittings second spare backup replacement replacements kids' men's women's size sizes fashion "
        "luxury budget value model models shape shapes "
        "prescription prescriptions plano computer screen digital material materials coating coatings coated index "
        "indices indexes finish finishes treatment treatments"
    ),
    "channels": _listed(
        "online internet web website websites app phone telephone email mail post posted postal delivery "
        "delivered deliveries home domiciliary visit visits visited town city county country abroad overseas "
        "international london national nationwide region regional chain group"
    ),
    "what happened": _listed(
        "buy bought buying purchase purchased purchases purchasing receive received receiving arrived arrive "
        "returned return returning exchange exchanged exchanges warranty warranties refunded cancelled canceled "
        "pending unpaid outstanding owed owing owe debt deposit deposits balance balances invoice invoiced invoices "
        "damaged broken lost stolen missing shrinkage wasted waste wastage scrapped expired expiring written write "
        "off reserved reservation ordered booked"
    ),
    "time": _listed(
        "hour hours hourly minute minutes time times timing long longest longer short shortest duration wait "
        "waiting waited turnaround fast faster fastest slow slower quick quicker late later early earlier first "
        "second third fourth fifth next previous recent newest oldest latest opening closing open closed night "
        "nights mid middle midway lunchtime lunch weekend weekends weekday weekdays daytime bank holiday holidays season seasons "
        "period periods"
    ),
}
DENIED_ORDINARY = frozenset().union(*MEANINGFUL_WORDS.values())
# Brands of eyewear, lenses and fashion, and other opticians, whose names are also ordinary
# words ("Police", "Guess", "Coach"): asked back when they are not in the practice's catalogue.
KNOWN_BRAND_WORDS = _listed(
    "gucci prada chanel dior versace armani emporio burberry dolce gabbana fendi tiffany kors michael coach guess "
    "police boss hugo ford tom ted baker superdry jaguar mercedes porsche bmw ferrari carrera persol oliver peoples "
    "lindberg silhouette oakley rayban ray ban maui jim costa bolle nike adidas puma reebok lacoste tommy hilfiger "
    "calvin klein dkny moschino swarovski cartier bvlgari chloe celine balenciaga givenchy saint laurent ysl "
    "montblanc polaroid vogue kate spade jimmy choo marc jacobs fossil levis diesel hackett barbour joules radley "
    "zeiss hoya essilor varilux nikon rodenstock shamir kodak seiko crizal transitions acuvue biofinity dailies "
    "optix proclear clariti focus soflens purevision myday bausch lomb alcon coopervision johnson specsavers boots "
    "vision express asda tesco costco leightons scrivens sainsbury sainsburys amazon ebay apple google"
)


@functools.cache
def ordinary_words() -> frozenset[str]:
    """Common English words (wordfreq's English list at ``ORDINARY_ZIPF`` or above, letters only)
    that carry no figure, filter or period a question could turn on: words such as "put",
    "through", "shelf" or "sitting", which are left out of a question rather than asked back.
    Words that change what is asked, brands, and people's first names are not among them."""
    import wordfreq

    floor = 10 ** (ORDINARY_ZIPF - 9)  # wordfreq's frequencies are per word; Zipf is log10 per billion
    common = {
        word
        for word, frequency in wordfreq.get_frequency_dict("en").items()
        if frequency >= floor and word.isascii() and word.isalpha()
    }
    return frozenset(common - DENIED_ORDINARY - KNOWN_BRAND_WORDS - first_names())


# First names that are also everyday words, so common that a question uses them as words.
_ORDINARY_NAMES = _listed(
    "in my an so will see may many love man long hope young guy else soon major art son chance song star king "
    "bill page numbers sun lady brain spring rich carry queen royal rose faith van forest moon loan era grant "
    "golden max tiny desire don hang bell grace joy marine junior le roman temple charity angel mac chase kit "
    "diamond marry buddy crystal honey hunter ward glory liberty precious foster manual eve ok ma un ha pa na "
    "mi del sterling august"
)


@functools.cache
def first_names() -> frozenset[str]:
    """People's first names (the US census lists shipped by the ``names`` package), less the
    everyday words among them: a name the staff list does not hold is asked back, never left out."""
    from importlib.resources import files

    found: set[str] = set()
    for listing in ("dist.male.first", "dist.female.first"):
        text = files("names").joinpath(listing).read_text()
        found.update(line.split()[0].lower() for line in text.splitlines() if line.strip())
    return frozenset(found - _ORDINARY_NAMES)


def written_as_names(question: str) -> frozenset[str]:
    """Words the question writes with a capital inside a sentence ("how many Gucci frames"): names,
    whatever their ordinary meaning. Nothing when most words are capitalised (a shouted or
    title-case question says nothing by its capitals)."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", question)
    capitalised = [word for word in words if word[0].isupper()]
    if len(words) < 2 or len(capitalised) * 2 > len(words):
        return frozenset()
    found = set()
    for match in re.finditer(r"(?<![.?!:;])\s+([A-Z][A-Za-z'-]*)", question):
        word = match.group(1)
        if word != "I" and not word.startswith(("I'",)):
            found.add(word.lower().replace("'", ""))
    return frozenset(found)
