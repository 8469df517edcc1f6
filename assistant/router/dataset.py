"""The router data set: (question -> router output) pairs made from templates over the practice's
own vocabulary (its categories, lens types, materials, coatings, brands, suppliers, product names
and SKUs from the catalogue, its staff), periods in every form the period grammar reads, and
varied wording (terse, chatty, typos, lower case).

Each template belongs to a family (units sold, revenue, a ranking, a listing, an optics
question, a question that must be asked back…); within every family one template in five is
held out (``HELD_OUT_EVERY``), so the router-style evaluation split is worded in ways the router
never saw in training. The vocabulary is shared by both splits: the split tests new wordings,
not new names. A generated question equal to a question of the data-question evaluation (case,
spacing and punctuation aside) is never made: those are the evaluation's.

Targets follow the practice's conventions for the figures (``assistant.tools.query``): "Ray-Ban
sales" is revenue, "Essilor lenses" is the brand's spectacle lenses, a period is the question's
own words with the leading preposition dropped and typos put right ("lst month" -> "last month"),
resolved by ``assistant.tools.periods`` when the query runs. Every pair is checked before it is
kept: its output validates against the query or the tool, and its period resolves.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.router.outputs import ASK_BACK, KNOWLEDGE, completion_text, read_output
from practice.report_queries import MONTH_NAMES

HELD_OUT_EVERY = 5
SPLITS = ("train", "held_out")
MONTHS = list(MONTH_NAMES[1:])
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 6: "six", 7: "seven", 12: "twelve"}
# Brands that this catalogue does not hold: their names are copied into the query like any other
# (the data-query tool then says no such brand exists, and the parser asks back).
OTHER_FRAME_BRANDS = ["Carrera", "Moscot", "Police", "Lacoste", "Guess", "Burberry", "Fendi", "Emporio Armani"]
# Periods relative to today, and the prepositions each may take in a question.
_LONG = ("", "", "in ", "for ", "over ", "during ")
_NONE = ("",)
RELATIVE_PERIODS: list[tuple[str, tuple[str, ...]]] = [
    ("last month", _LONG),
    ("this month", _LONG),
    ("last week", ("", "", "over ", "for ")),
    ("this week", ("", "", "over ", "for ")),
    ("last year", _LONG),
    ("this year", _LONG),
    ("last quarter", _LONG),
    ("this quarter", _LONG),
    ("yesterday", _NONE),
    ("today", _NONE),
    ("this financial year", _LONG),
    ("last financial year", _LONG),
    ("the week before last", ("", "in ", "over ")),
    ("the month before last", ("", "in ", "for ")),
    ("month to date", _NONE),
    ("year to date", _NONE),
    ("so far this year", _NONE),
    ("so far this month", _NONE),
    ("so far this week", _NONE),
    ("since the start of the year", _NONE),
    ("since the start of the month", _NONE),
    ("since the beginning of the year", _NONE),
    ("the previous month", ("in ", "for ", "over ")),
    ("the previous week", ("in ", "for ", "over ")),
    ("the last full calendar month", ("in ", "for ", "over ")),
    ("last weekend", ("", "over ")),
    ("the day before yesterday", _NONE),
    ("ytd", _NONE),
    ("this fy", ("", "in ")),
]
# Frequent misspellings staff type, and the word they meant.
TYPOS = {
    "last": ["lst", "lsat"],
    "month": ["moth", "mnth", "monht"],
    "week": ["weeek", "wek"],
    "year": ["yaer", "yera"],
    "frames": ["fames", "frmaes", "framse"],
    "lenses": ["lensess", "lense", "lenes"],
    "revenue": ["revnue", "revenu", "reveneu"],
    "progressive": ["progresive", "progressiv"],
    "contact": ["contcat", "contatc"],
    "january": ["janaury"],
    "february": ["febuary", "feburary"],
    "march": ["mrach"],
    "april": ["apirl"],
    "august": ["agust", "augst"],
    "september": ["septmeber", "sepetmber"],
    "october": ["octobr", "ocotber"],
    "november": ["novmber", "novemebr"],
    "december": ["decmber", "decemeber"],
    "sold": ["sodl"],
    "sales": ["slaes", "sals"],
    "quarter": ["quater", "qaurter"],
    "average": ["avarage", "averge"],
    "yesterday": ["yesterdy", "yestreday"],
    "takings": ["takigns", "takngs"],
    "stock": ["stok", "stcok"],
}


@dataclass(frozen=True)
class RouterPair:
    question: str
    output: dict[str, Any]
    template: str
    split: str

    @property
    def completion(self) -> str:
        return completion_text(self.output)


@dataclass(frozen=True)
class Goods:
    """A noun phrase for what was sold or is held ("Ray-Ban frames") and its filters."""

    phrase: str
    filters: dict[str, Any]
    kind: str = "any"  # "frame", "spectacle_lens", "contact_lens", "solution", "accessory" or "any"
    products: bool = False  # the phrase names single products (a ranking of products fits it)


@dataclass
class Vocabulary:
    """The practice's names, read from its catalogue and staff."""

    brands: dict[str, list[str]] = field(default_factory=dict)  # category -> brands
    suppliers: dict[str, list[str]] = field(default_factory=dict)  # category -> suppliers
    product_words: dict[str, list[str]] = field(default_factory=dict)  # category -> distinctive model words
    skus: list[str] = field(default_factory=list)
    models: dict[str, list[str]] = field(default_factory=dict)  # category -> whole model names
    staff: list[tuple[str, str]] = field(default_factory=list)  # (first name, full name)
    # Suppliers whose names share no word with a brand: "from Safilo" names the supplier, while
    # "from Superdry" (Superdry Eyewear) names the brand, as staff mean it.
    distributors: set[str] = field(default_factory=set)


GENERIC_WORDS = {
    "pack",
    "lens",
    "lenses",
    "single",
    "vision",
    "progressive",
    "bifocal",
    "plus",
    "with",
    "for",
    "and",
    "the",
    "day",
    "daily",
    "anti",
    "reflective",
    "blue",
    "filter",
    "hard",
    "coat",
    "transitions",
    "thin",
    "extra",
    "ultra",
    "standard",
    "case",
    "spray",
    "wipes",
    "cleaning",
    "essentials",
    "optics",
    "kids",
    "eye",
    "drops",
    "range",
    "black",
    "pair",
    "triple",
    "replacement",
    "multipurpose",
    "travel",
    "contact",
    "toric",
    "multifocal",
    "astigmatism",
    "presbyopia",
    "night",
    "moist",
    "lite",
    "rim",
    "round",
    "metal",
    "slim",
    "folding",
}


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def practice_vocabulary() -> Vocabulary:
    """The names the router is trained on: the catalogue's brands, suppliers, distinctive product
    words and SKUs, and the active staff's names (never a patient's)."""
    from django.contrib.auth import get_user_model

    from practice.models import Product

    vocabulary = Vocabulary()
    words_seen: dict[str, set[str]] = {}
    for brand, supplier, model, sku, category in Product.objects.order_by("pk").values_list(
        "brand", "supplier", "model", "sku", "category"
    ):
        brands = vocabulary.brands.setdefault(category, [])
        if brand not in brands:
            brands.append(brand)
        suppliers = vocabulary.suppliers.setdefault(category, [])
        if supplier and supplier not in suppliers:
            suppliers.append(supplier)
        vocabulary.skus.append(sku)
        vocabulary.models.setdefault(category, []).append(model)
        brand_words = {w.lower() for w in re.findall(r"[A-Za-z]+", _ascii(brand))}
        for word in re.findall(r"[A-Za-z][A-Za-z0-9+]{3,}", _ascii(model)):
            if word.lower() in GENERIC_WORDS or word.lower() in brand_words or (word.isupper() and len(word) <= 4):
                continue
            words_seen.setdefault(category, set()).add(word)
    for category, words in words_seen.items():
        vocabulary.product_words[category] = sorted(words)
    brand_words = {
        w.lower() for brands in vocabulary.brands.values() for b in brands for w in re.findall(r"[A-Za-z]+", _ascii(b))
    }
    for suppliers in vocabulary.suppliers.values():
        for supplier in suppliers:
            words = {w.lower() for w in re.findall(r"[A-Za-z]+", _ascii(supplier))} - {"uk"}
            if not words & brand_words:
                vocabulary.distributors.add(supplier)
    for user in get_user_model().objects.filter(is_active=True, is_staff=True).order_by("pk"):
        if user.first_name and user.last_name:
            vocabulary.staff.append((user.first_name, user.get_full_name()))
    return vocabulary


def normalised_question(text: str) -> str:
    """For comparing questions: case, punctuation and spacing aside."""
    return " ".join(re.sub(r"[^a-z0-9£&+/.-]+", " ", _ascii(text).casefold()).split()).strip(" .")


# --- phrases -------------------------------------------------------------------------------------


class Phrases:
    """Random phrases over the vocabulary, each with what it means in the query."""

    def __init__(self, vocabulary: Vocabulary, rng: random.Random) -> None:
        self.vocabulary = vocabulary
        self.rng = rng

    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[self.rng.randrange(len(options))]

    # Periods: (the words in the question, the period words of the query).
    def period(self, *, preposition: bool = True) -> tuple[str, str]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.34:
            words, prepositions = self.pick(RELATIVE_PERIODS)
            prep = self.pick(prepositions) if preposition else ""
            return prep + words, words
        if kind < 0.52:
            count, unit = self.pick(
                [
                    (7, "days"),
                    (14, "days"),
                    (30, "days"),
                    (60, "days"),
                    (90, "days"),
                    (2, "weeks"),
                    (4, "weeks"),
                    (3, "months"),
                    (6, "months"),
                    (12, "months"),
                    (2, "months"),
                    (18, "months"),
                ]
            )
            number = NUMBER_WORDS[count] if count in NUMBER_WORDS and rng.random() < 0.3 else str(count)
            lead = self.pick(["the last", "the past", "last", "past"])
            words = f"{lead} {number} {unit}"
            if rng.random() < 0.15 and unit == "months":
                words = f"the last {number} full months"
            prep = self.pick(["", "in ", "over ", "for ", "during "]) if preposition else ""
            return prep + words, words
        if kind < 0.66:
            month = self.pick(MONTHS)
            written = month if rng.random() < 0.7 else month.lower()
            if rng.random() < 0.3:
                written = f"{written} {self.pick(['2025', '2026'])}"
            prep = self.pick(["in ", "in ", "during ", "for ", ""]) if preposition else ""
            return prep + written, written
        if kind < 0.76:
            quarter = rng.randrange(1, 5)
            ordinal = ["first", "second", "third", "fourth"][quarter - 1]
            written = self.pick(
                [
                    f"Q{quarter}",
                    f"Q{quarter}",
                    f"q{quarter}",
                    f"the {ordinal} quarter",
                    f"Q{quarter} 2025",
                    f"Q{quarter} 2026",
                    f"the {ordinal} quarter of this year",
                ]
            )
            if rng.random() < 0.12:
                half = rng.randrange(1, 3)
                written = self.pick(
                    [f"H{half}", f"H{half} 2026", f"the {['first', 'second'][half - 1]} half of the year"]
                )
            prep = self.pick(["in ", "in ", "for ", "during ", ""]) if preposition else ""
            return prep + written, written
        if kind < 0.82:
            written = self.pick(["2025", "2026", "last year", "this year"])
            prep = self.pick(["in ", "for ", "during "]) if preposition else ""
            return prep + written, written
        if kind < 0.9:
            day, day2 = rng.randrange(1, 15), rng.randrange(15, 29)
            month = self.pick(MONTHS)
            month2 = MONTHS[(MONTHS.index(month) + rng.randrange(1, 3)) % 12]
            written = self.pick(
                [
                    f"between {day} {month} and {day2} {month2}",
                    f"from {month} to {month2}",
                    f"between {self._nth(day)} and {self._nth(day2)} {month}",
                    f"since {day} {month}",
                    f"since {month}",
                    f"since {self.pick(['Monday', 'Tuesday', 'Wednesday', 'Friday'])}",
                    f"from {month} {self._nth(day)} through {month2} {self._nth(day2)}",
                    f"from {day} {month} to {day2} {month2}",
                ]
            )
            return written, written
        if kind < 0.96:
            day = rng.randrange(1, 29)
            month = self.pick(MONTHS)
            month_number = MONTHS.index(month) + 1
            written = self.pick(
                [
                    f"{day} {month}",
                    f"the {self._nth(day)} of {month}",
                    f"{month} {self._nth(day)}",
                    f"{day:02d}/{month_number:02d}/2026",
                    f"{day} {month} 2025",
                    f"last {self.pick(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'])}",
                ]
            )
            prep = "on " if preposition and not written.startswith("last") else ""
            return prep + written, written
        written = self.pick(
            [
                "Christmas",
                "Easter",
                "Black Friday",
                "the summer",
                "the spring",
                "summer",
                "Boxing Day",
                f"w/c {rng.randrange(1, 29)} {self.pick(MONTHS)}",
                f"{self.pick(['two', '3', 'three', '6'])} months ago",
            ]
        )
        prep = ""
        if preposition and written in ("Christmas", "Easter", "the summer", "the spring", "summer"):
            prep = self.pick(["over ", "in ", "during "])
        elif preposition and written in ("Black Friday", "Boxing Day"):
            prep = "on "
        return prep + written, written

    @staticmethod
    def _nth(day: int) -> str:
        suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"{day}{suffix}"

    def comparison(self) -> tuple[str, str, str, str]:
        """(period in the question, the earlier period's words, period words, compare)."""
        month = self.rng.randrange(1, 12)
        options = [
            ("last month", self.pick(["the month before", "the previous month", "September"]), "last month"),
            ("this week", self.pick(["last week", "the week before"]), "this week"),
            ("last week", self.pick(["the week before", "the previous week"]), "last week"),
            ("this month", self.pick(["last month", "the previous month"]), "this month"),
            ("Q3", "Q2", "Q3"),
            ("this quarter", "last quarter", "this quarter"),
            (MONTHS[month], MONTHS[month - 1], MONTHS[month]),
            ("the last 30 days", "the previous 30 days", "the last 30 days"),
            ("this year", "last year", "this year"),
        ]
        period, earlier, words = self.pick(options)
        if self.rng.random() < 0.35:
            return (
                period,
                self.pick(["the same period last year", "the same month last year", "last year"]),
                words,
                ("same_period_last_year"),
            )
        return period, earlier, words, "previous_period"

    # Goods: what was sold or is held.
    def goods(self, *, lenses_only: bool = False) -> Goods:
        v = self.vocabulary
        rng = self.rng
        choice = rng.random()
        if lenses_only:
            choice = 0.25 + 0.25 * rng.random()
        if choice < 0.25:
            category, phrase = self.pick(
                [
                    ("frame", "frames"),
                    ("frame", "frames"),
                    ("frame", "spectacle frames"),
                    ("frame", "eyeglass frames"),
                    ("spectacle_lens", "spectacle lenses"),
                    ("spectacle_lens", "lenses"),
                    ("spectacle_lens", "glasses lenses"),
                    ("contact_lens", "contact lenses"),
                    ("contact_lens", "contacts"),
                    ("contact_lens", "contact lens boxes"),
                    ("contact_lens", "CLs"),
                    ("accessory", "accessories"),
                    ("solution", "solutions"),
                    ("solution", "contact lens solutions"),
                    ("solution", "lens solutions"),
                    ("solution", "eye drops"),
                ]
            )
            return Goods(phrase, {"category": category}, category)
        if choice < 0.42:
            lens_type, phrase = self.pick(
                [
                    ("progressive", "progressive lenses"),
                    ("progressive", "progressives"),
                    ("progressive", "varifocals"),
                    ("progressive", "varifocal lenses"),
                    ("progressive", "PALs"),
                    ("single_vision", "single vision lenses"),
                    ("single_vision", "single-vision lenses"),
                    ("single_vision", "SV lenses"),
                    ("bifocal", "bifocals"),
                    ("bifocal", "bifocal lenses"),
                    ("occupational", "occupational lenses"),
                    ("occupational", "office lenses"),
                    ("occupational", "computer lenses"),
                ]
            )
            filters: dict[str, Any] = {"lens_type": lens_type}
            if rng.random() < 0.25 and v.brands.get("spectacle_lens"):
                brand = self.pick(v.brands["spectacle_lens"])
                phrase = f"{self._brand_written(brand)} {phrase}"
                filters["brand"] = brand
            return Goods(phrase, filters, "spectacle_lens")
        if choice < 0.5:
            kind = rng.random()
            if kind < 0.35:
                material, word = self.pick(
                    [
                        ("polycarbonate", "polycarbonate"),
                        ("polycarbonate", "polycarb"),
                        ("trivex", "Trivex"),
                        ("trivex", "trivex"),
                        ("high_index", "high index"),
                        ("high_index", "high-index"),
                        ("cr39", "CR-39"),
                        ("cr39", "CR39"),
                    ]
                )
                return Goods(f"{word} lenses", {"material": material, "category": "spectacle_lens"}, "spectacle_lens")
            if kind < 0.65:
                index = self.pick(["1.50", "1.60", "1.67", "1.74", "1.53", "1.59"])
                phrase = self.pick([f"{index} index lenses", f"{index} lenses", f"lenses in {index}"])
                return Goods(phrase, {"lens_index": index, "category": "spectacle_lens"}, "spectacle_lens")
            coating, phrase = self.pick(
                [
                    ("anti_reflective", "anti-reflective lenses"),
                    ("anti_reflective", "AR-coated lenses"),
                    ("anti_reflective", "anti-glare lenses"),
                    ("blue_filter", "blue filter lenses"),
                    ("blue_filter", "lenses with a blue filter"),
                    ("blue_filter", "blue light lenses"),
                    ("photochromic", "photochromic lenses"),
                    ("photochromic", "Transitions lenses"),
                    ("hard_coat", "hard coated lenses"),
                    ("uv", "UV protection lenses"),
                ]
            )
            return Goods(phrase, {"coating": coating, "category": "spectacle_lens"}, "spectacle_lens")
        if choice < 0.75:
            category = self.pick(["frame", "frame", "frame", "spectacle_lens", "contact_lens", "solution"])
            brands = v.brands.get(category) or v.brands.get("frame") or []
            if not brands:
                return Goods("frames", {"category": "frame"}, "frame")
            brand = self.pick(brands)
            if category == "frame" and rng.random() < 0.08:
                brand = self.pick(OTHER_FRAME_BRANDS)
            written = self._brand_written(brand)
            noun = {
                "frame": ["frames", "frames", "glasses frames", ""],
                "spectacle_lens": ["lenses", "lenses", "spectacle lenses"],
                "contact_lens": ["contact lenses", "contacts", "lenses"],
                "solution": ["solutions", "products"],
            }[category]
            word = self.pick(noun)
            if word in ("", "products"):
                return Goods(f"{written} {word}".strip(), {"brand": brand}, category)
            return Goods(f"{written} {word}", {"brand": brand, "category": category}, category)
        if choice < 0.88:
            category = self.pick(["frame", "frame", "contact_lens", "contact_lens", "spectacle_lens", "solution"])
            words = v.product_words.get(category) or []
            if not words or rng.random() < 0.1:
                if v.skus:
                    sku = self.pick(v.skus)
                    return Goods(self.pick([sku, f"units of {sku}", sku.lower()]), {"product": sku}, "any", True)
                return Goods("frames", {"category": "frame"}, "frame")
            word = self.pick(words)
            written = word if rng.random() < 0.7 else word.lower()
            noun = {
                "frame": ["", "frames", "s"],
                "contact_lens": ["boxes", "", "contact lenses", "packs"],
                "spectacle_lens": ["lenses"],
                "solution": ["", "bottles"],
            }[category]
            tail = self.pick(noun)
            phrase = f"{written}s" if tail == "s" else f"{written} {tail}".strip()
            return Goods(phrase, {"product": word}, category, True)
        if choice < 0.95:
            category = self.pick(["frame", "frame", "frame", "spectacle_lens", "contact_lens", "accessory"])
            suppliers = [s for s in v.suppliers.get(category) or [] if s in v.distributors]
            if not suppliers:
                return Goods("frames", {"category": "frame"}, "frame")
            supplier = self.pick(suppliers)
            core = supplier.removesuffix(" UK")
            plural = {
                "frame": "frames",
                "spectacle_lens": "lenses",
                "contact_lens": "contact lenses",
                "accessory": "accessories",
            }[category]
            form = rng.random()
            if form < 0.4:
                return Goods(f"{plural} from {core}", {"supplier": supplier, "category": category}, category)
            if form < 0.7:
                return Goods(f"{core} products", {"supplier": supplier}, "any")
            return Goods(f"{plural} supplied by {supplier}", {"supplier": supplier, "category": category}, category)
        phrase = self.pick(["units", "items", "products", "things", "units in total"])
        return Goods(phrase, {}, "any")

    def _brand_written(self, brand: str) -> str:
        rng = self.rng
        if rng.random() < 0.7:
            return brand
        variants = {brand.lower(), brand.replace("-", " "), brand.replace("-", "").lower(), brand.replace("+", "and")}
        if "&" in brand:
            variants.add(brand.replace("&", "and"))
        return self.pick(sorted(variants))

    def staff(self) -> tuple[str, str]:
        """(the name as written, the name in the query)."""
        if not self.vocabulary.staff:
            return "Sam", "Sam"
        first, full = self.pick(self.vocabulary.staff)
        written = self.pick([first, first, full])
        return written, written

    def payment(self) -> tuple[str, str]:
        return self.pick(  # type: ignore[no-any-return]
            [
                ("cash", "cash"),
                ("card", "card"),
                ("card", "credit card"),
                ("card", "debit card"),
                ("card", "contactless"),
                ("nhs_voucher", "NHS vouchers"),
                ("nhs_voucher", "NHS voucher"),
                ("gift_voucher", "gift vouchers"),
                ("gift_voucher", "gift cards"),
                ("bank_transfer", "bank transfer"),
                ("bank_transfer", "BACS"),
            ]
        )


# --- templates --------------------------------------------------------------------------------------

Maker = Callable[[Phrases, str], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class Template:
    id: str
    family: str
    text: str
    make: Maker
    held_out: bool


def _period_query(metric: str, extra: dict[str, Any] | None = None) -> Maker:
    """A template with {goods} (optional) and {P}: a figure of `metric` over the period."""

    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        output: dict[str, Any] = {"metric": metric, **(extra or {})}
        values: dict[str, str] = {}
        if "{goods}" in text:
            goods = phrases.goods()
            if metric in ("average_sale_value", "average_units_per_sale") and goods.products:
                return None
            values["goods"] = goods.phrase
            output.update(goods.filters)
        if "{staff}" in text:
            values["staff"], output["staff"] = phrases.staff()
        if "{pay}" in text:
            output["payment_method"], values["pay"] = phrases.payment()
        phrase, words = phrases.period(preposition="{p}" not in text)
        values["P"] = phrase
        values["p"] = words
        output["period"] = words
        return text.format(**values), output

    return make


def _stock(metric: str) -> Maker:
    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        output: dict[str, Any] = {"metric": metric}
        values: dict[str, str] = {}
        if "{goods}" in text:
            goods = phrases.goods()
            if "{goods}'s" in text or goods.phrase.startswith("units"):
                return None
            values["goods"] = goods.phrase
            output.update(goods.filters)
        return text.format(**values), output

    return make


GROUP_WORDS = {
    "month": ["month", "monthly", "per month", "each month", "by month", "month by month"],
    "week": ["week", "weekly", "per week", "each week", "by week"],
    "day": ["day", "daily", "per day", "each day", "by day"],
    "quarter": ["quarter", "quarterly", "per quarter", "by quarter"],
    "brand": ["brand"],
    "category": ["category"],
    "lens_type": ["lens type"],
    "supplier": ["supplier"],
    "staff": ["staff member", "member of staff", "staff"],
    "payment_method": ["payment method"],
    "product": ["product"],
}


def _breakdown(metric_words: list[tuple[str, str]]) -> Maker:
    """{m} (a figure's words) broken down by {g}, over {P}; {goods} optional."""

    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        metric, words = phrases.pick(metric_words)
        group = phrases.pick(
            ["month", "month", "week", "day", "quarter", "brand", "category", "lens_type"] * 2
            + ["supplier", "staff", "payment_method", "product"]
        )
        if group == "payment_method" and metric not in ("revenue", "sales"):
            return None
        output: dict[str, Any] = {"metric": metric, "group_by": group}
        values = {"m": words}
        group_words = GROUP_WORDS[group]
        if "{g}" in text:
            values["g"] = phrases.pick([w for w in group_words if not w.endswith("ly") and " " not in w] or group_words)
            if group in ("month", "week", "day", "quarter") and "per {g}" not in text and "by {g}" not in text:
                return None
        if "{gl}" in text:  # "monthly", "weekly"
            if group not in ("month", "week", "day", "quarter"):
                return None
            values["gl"] = {"month": "monthly", "week": "weekly", "day": "daily", "quarter": "quarterly"}[group]
        if "{goods}" in text:
            goods = phrases.goods()
            if goods.products or (group in ("category",) and "category" in goods.filters):
                return None
            if group == "lens_type" and "lens_type" in goods.filters:
                return None
            values["goods"] = goods.phrase
            output.update(goods.filters)
        phrase, words_p = phrases.period()
        values["P"] = phrase
        output["period"] = words_p
        return text.format(**values), output

    return make


RANK_GROUPS = [
    ("brand", "brand"),
    ("brand", "brand"),
    ("product", "product"),
    ("supplier", "supplier"),
    ("lens_type", "lens type"),
    ("category", "category"),
    ("month", "month"),
    ("week", "week"),
    ("day", "day"),
    ("staff", "member of staff"),
    ("quarter", "quarter"),
]


def _ranking(*, bottom: bool = False, metric: str | None = None, count: bool = False) -> Maker:
    """A ranking: "Which {g} sold the most {goods} {P}?" and the like."""

    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        group, group_word = phrases.pick(RANK_GROUPS)
        if "{kind}" in text and "{g}" in text and group not in ("brand", "supplier", "product"):
            return None
        if count and "{g}" in text and group not in ("day", "week", "month", "quarter", "staff", "brand"):
            return None
        if "{g}" not in text:
            group = "staff" if text.startswith("Who ") else "product"
        output: dict[str, Any] = {"metric": metric or "units", "group_by": group}
        values: dict[str, str] = {"g": group_word}
        if "{goods}" in text:
            goods = phrases.goods()
            if goods.products or (goods.kind == "any" and not goods.filters):
                return None
            if group == "category" or (group == "lens_type" and goods.kind != "spectacle_lens"):
                return None
            if (group == "brand" and "brand" in goods.filters) or (group == "supplier" and "supplier" in goods.filters):
                return None
            if group == "lens_type" and "lens_type" in goods.filters:
                return None
            values["goods"] = goods.phrase
            output.update(goods.filters)
        if "{kind}" in text:  # a category in the singular: "frame brand"
            category, word = phrases.pick(
                [
                    ("frame", "frame"),
                    ("spectacle_lens", "lens"),
                    ("contact_lens", "contact lens"),
                    ("solution", "solution"),
                ]
            )
            values["kind"] = word
            output["category"] = category
            if group in ("category", "lens_type") and "{g}" in text:
                return None
        limit = 5 if text.lower().startswith(("top selling", "best selling")) else 1
        if "{n}" in text:
            limit = phrases.pick([3, 5, 5, 10, 3, 2, 4])
            values["n"] = str(limit)
        output.update(rank="bottom" if bottom else "top", limit=limit)
        if count:
            output["metric"] = "sales"
        phrase, words = phrases.period()
        values["P"] = phrase
        output["period"] = words
        return text.format(**values), output

    return make


def _comparison(metric_words: list[tuple[str, str]]) -> Maker:
    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        metric, words = phrases.pick(metric_words)
        period, earlier, period_words, compare = phrases.comparison()
        output: dict[str, Any] = {"metric": metric, "period": period_words, "compare": compare}
        values = {"m": words, "P": period, "E": earlier}
        if "{goods}" in text:
            goods = phrases.goods()
            if goods.products and metric.startswith("average"):
                return None
            values["goods"] = goods.phrase
            output.update(goods.filters)
        return text.format(**values), output

    return make


def _lab_jobs(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    status, words = phrases.pick(
        [
            ("at_lab", "at the lab"),
            ("at_lab", "with the lab"),
            ("ready", "ready for collection"),
            ("ready", "waiting to be collected"),
            ("ready", "ready to collect"),
            ("remake", "on remake"),
            ("remake", "being remade"),
            ("ordered", "not yet sent to the lab"),
        ]
    )
    return text.format(s=words), {"metric": "lab_jobs", "lab_status": status}


def _lab_jobs_in_period(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    status, words = phrases.pick(
        [
            (None, "ordered"),
            ("collected", "collected"),
            ("cancelled", "cancelled"),
            ("collected", "picked up"),
            ("remake", "sent for a remake"),
        ]
    )
    phrase, period = phrases.period()
    output: dict[str, Any] = {"metric": "lab_jobs", "period": period}
    if status:
        output["lab_status"] = status
    return text.format(s=words, P=phrase), output


def _recalls(metric: str, *, with_period: bool = False) -> Maker:
    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        kind, words = phrases.pick(
            [
                (None, ""),
                (None, ""),
                ("eye_exam", "eye exam "),
                ("eye_exam", "sight test "),
                ("cl_aftercare", "contact lens aftercare "),
            ]
        )
        output: dict[str, Any] = {"metric": metric}
        if kind:
            output["recall_kind"] = kind
        values = {"k": words}
        if with_period:
            # Periods that name the coming days: "due in January" is the parser's to place in time.
            phrase, period = phrases.pick(
                [
                    ("next month", "next month"),
                    ("next week", "next week"),
                    ("in the next 30 days", "the next 30 days"),
                    ("over the next 2 weeks", "the next 2 weeks"),
                    ("in the next 3 months", "the next 3 months"),
                    ("next quarter", "next quarter"),
                ]
            )
            values["P"] = phrase
            output["period"] = period
        return text.format(**values), output

    return make


def _patients_seen(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    output: dict[str, Any] = {"metric": "patients_seen"}
    values: dict[str, str] = {}
    if "{staff}" in text:
        values["staff"], output["staff"] = phrases.staff()
    if "{gl}" in text:
        group = phrases.pick(["month", "week", "quarter"])
        values["gl"] = {"month": "month", "week": "week", "quarter": "quarter"}[group]
        output["group_by"] = group
    phrase, words = phrases.period()
    values["P"] = phrase
    output["period"] = words
    return text.format(**values), output


def _low_stock(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    output: dict[str, Any] = {"route": "low_stock"}
    values: dict[str, str] = {}
    if "{cat}" in text:
        category, word = phrases.pick(
            [
                ("frame", "frames"),
                ("contact_lens", "contact lenses"),
                ("solution", "solutions"),
                ("accessory", "accessories"),
                ("spectacle_lens", "lenses"),
                ("spectacle_lens", "spectacle lenses"),
            ]
        )
        values["cat"] = word
        output["category"] = category
    return text.format(**values), output


def _fixed(output: dict[str, Any]) -> Maker:
    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        return text, dict(output)

    return make


def _recall_list(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    kind, words = phrases.pick(
        [(None, "recall"), (None, "recall"), ("eye_exam", "eye exam"), ("cl_aftercare", "contact lens aftercare")]
    )
    output: dict[str, Any] = {"route": "recalls_due", "overdue_only": "overdue" in text}
    if kind:
        output["kind"] = kind
    if not output["overdue_only"]:
        del output["overdue_only"]
    return text.format(k=words), output


def _product_route(route: str) -> Maker:
    def make(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
        category = phrases.pick(["frame", "frame", "contact_lens", "solution", "accessory", "spectacle_lens"])
        models = phrases.vocabulary.models.get(category) or []
        if not models:
            return None
        model = phrases.pick(models)
        words = re.sub(r"\s+(?:\d+ pack|\d+ml|x\d+)$", "", model)
        return text.format(x=words), {"route": route, "query": words}

    return make


def _ask_back_sales(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    values: dict[str, str] = {}
    if "{goods}" in text:
        values["goods"] = phrases.goods().phrase
    if "{staff}" in text:
        values["staff"] = phrases.staff()[0]
    if "{P}" in text:
        values["P"] = phrases.period()[0]
    if "{F}" in text:
        values["F"] = phrases.pick(
            ["next month", "next year", "next week", "in December", "at Christmas", "next quarter", "this Christmas"]
        )
    return text.format(**values), {"route": ASK_BACK}


def _knowledge(phrases: Phrases, text: str) -> tuple[str, dict[str, Any]] | None:
    values = {
        "lens": phrases.pick(
            [
                "progressive",
                "varifocal",
                "bifocal",
                "single vision",
                "occupational",
                "office",
                "polycarbonate",
                "high-index",
                "Trivex",
                "photochromic",
                "blue light filtering",
                "anti-reflective",
            ]
        ),
        "cond": phrases.pick(
            [
                "astigmatism",
                "myopia",
                "presbyopia",
                "hyperopia",
                "long-sightedness",
                "short-sightedness",
                "dry eye",
                "keratoconus",
                "amblyopia",
                "a lazy eye",
                "cataracts",
                "glaucoma",
                "macular degeneration",
            ]
        ),
        "cl": phrases.pick(
            [
                "daily disposable lenses",
                "monthly lenses",
                "toric lenses",
                "multifocal contact lenses",
                "silicone hydrogel lenses",
                "contact lenses",
                "rigid gas permeable lenses",
            ]
        ),
        "term": phrases.pick(
            [
                "the axis on a prescription",
                "cylinder",
                "the add on a prescription",
                "pupillary distance",
                "a prism in glasses",
                "lens index",
                "an Abbe value",
                "base curve",
                "vertex distance",
                "a sphere power",
                "the near add",
                "fitting height",
            ]
        ),
        "thing": phrases.pick(
            ["glasses", "spectacles", "contact lenses", "a lens case", "anti-reflective lenses", "frames"]
        ),
    }
    return text.format(**values), {"route": KNOWLEDGE}


SALES_WORDS = [
    ("revenue", "revenue"),
    ("revenue", "takings"),
    ("revenue", "turnover"),
    ("units", "units sold"),
    ("units", "unit sales"),
    ("sales", "number of sales"),
    ("sales", "sales count"),
    ("average_sale_value", "average sale value"),
    ("margin", "margin"),
]

FAMILIES: dict[str, tuple[Maker, list[str]]] = {
    "units": (
        _period_query("units"),
        [
            "How many {goods} did we sell {P}?",
            "{goods} sold {P}",
            "Number of {goods} sold {P}?",
            "How many {goods} have we sold {P}?",
            "How many {goods} went out {P}?",
            "{goods} units {P}",
            "units of {goods} {P}",
            "Can you tell me how many {goods} we sold {P}?",
            "How many {goods} were sold {P}?",
            "How many {goods} did we shift {P}?",
            "how many {goods} {P}",
            "Count of {goods} sold {P}",
            "What's the unit count for {goods} {P}?",
            "{P}, how many {goods} did we sell?",
            "How many {goods} did we get through {P}?",
            "How many {goods} did we dispense {P}?",
            "Units sold {P}?",
            "how many units did we sell {P}",
            "Total {goods} sold {P}",
            "I'd like to know how many {goods} we sold {P}",
        ],
    ),
    "revenue": (
        _period_query("revenue"),
        [
            "What was our revenue {P}?",
            "How much did {goods} bring in {P}?",
            "{goods} revenue {P}",
            "revenue from {goods} {P}",
            "How much did we take {P}?",
            "What did {goods} take {P}?",
            "takings {P}",
            "turnover {P}",
            "How much money did we make {P}?",
            "What were {goods} sales worth {P}?",
            "{goods} sales {P}",
            "income from {goods} {P}",
            "How much revenue did {goods} generate {P}?",
            "What were our total takings {P}?",
            "gross sales {P}",
            "What's our turnover been {P}?",
            "How much did we sell in pounds {P}?",
            "Total revenue {P}?",
            "What did we bring in from {goods} {P}?",
            "sales value of {goods} {P}",
        ],
    ),
    "sales_count": (
        _period_query("sales"),
        [
            "How many sales did we make {P}?",
            "number of transactions {P}",
            "How many sales included {goods} {P}?",
            "How many transactions did we ring up {P}?",
            "How many {goods} sales were there {P}?",
            "number of sales {P}",
            "How many orders did we take {P}?",
            "sales count {P}",
            "How many customer transactions {P}?",
            "How many separate sales {P}?",
        ],
    ),
    "average_sale": (
        _period_query("average_sale_value"),
        [
            "What was the average sale value {P}?",
            "average transaction value {P}",
            "What's our average spend per sale {P}?",
            "avg sale value {P}",
            "What is the average order value {P}?",
            "What was the average sale value of {goods} {P}?",
            "ATV {P}",
            "mean sale value {P}",
            "average ticket {P}",
            "What's the average {goods} sale worth {P}?",
        ],
    ),
    "units_per_sale": (
        _period_query("average_units_per_sale"),
        [
            "average units per sale {P}",
            "How many items per transaction on average {P}?",
            "What's the average basket size in units {P}?",
            "How many units per sale did we average {P}?",
            "average items per sale {P}",
        ],
    ),
    "margin": (
        _period_query("margin"),
        [
            "What was our margin {P}?",
            "gross profit on {goods} {P}",
            "What margin did we make on {goods} {P}?",
            "margin on {goods} {P}",
            "What's the margin on {goods} {P}?",
            "How much profit did we make on {goods} {P}?",
            "gross margin {P}",
            "{goods} margin {P}",
        ],
    ),
    "staff": (
        _period_query("sales"),
        [
            "How many sales did {staff} make {P}?",
            "How many transactions did {staff} do {P}?",
            "number of sales by {staff} {P}",
        ],
    ),
    "staff_revenue": (
        _period_query("revenue"),
        [
            "What were {staff}'s takings {P}?",
            "revenue sold by {staff} {P}",
            "How much did {staff} take {P}?",
            "How much has {staff} sold {P}?",
            "{staff}'s sales {P}",
        ],
    ),
    "staff_units": (
        _period_query("units"),
        [
            "How many {goods} did {staff} sell {P}?",
            "{goods} sold by {staff} {P}",
            "How many {goods} has {staff} sold {P}?",
        ],
    ),
    "staff_average": (
        _period_query("average_sale_value"),
        [
            "What's {staff}'s average sale value {P}?",
            "average sale value for {staff} {P}",
            "{staff} average transaction value {P}",
        ],
    ),
    "payment": (
        _period_query("revenue"),
        [
            "How much did we take in {pay} {P}?",
            "How much was paid by {pay} {P}?",
            "{pay} takings {P}",
            "total taken by {pay} {P}",
            "{pay} payments {P} in pounds",
            "How much came in by {pay} {P}?",
        ],
    ),
    "payment_count": (
        _period_query("sales"),
        [
            "How many sales were paid with {pay} {P}?",
            "How many {pay} transactions did we have {P}?",
            "number of {pay} sales {P}",
        ],
    ),
    "breakdown": (
        _breakdown(SALES_WORDS),
        [
            "{m} by {g} {P}",
            "{m} per {g} {P}",
            "{gl} {m} {P}",
            "Show me {m} by {g} {P}",
            "Break down {m} by {g} {P}",
            "{goods} {m} by {g} {P}",
            "Can I get a breakdown of {m} by {g} {P}?",
            "{m} split by {g} {P}",
            "{m} for {goods} per {g} {P}",
            "What was our {m} by {g} {P}?",
        ],
    ),
    "ranking_units": (
        _ranking(),
        [
            "Which {kind} {g} sold the most units {P}?",
            "Which {g} sold the most {goods} {P}?",
            "What were our top {n} best-selling {goods} {P}?",
            "best selling {goods} {P}",
            "Which {g} sold best {P}?",
            "top {n} {kind} {g}s by units sold {P}",
            "What's our most popular {kind} {P}?",
            "Which {kind} did we sell the most of {P}?",
            "Top selling {goods} {P}?",
            "Which {g} shifted the most {goods} {P}?",
        ],
    ),
    "ranking_revenue": (
        _ranking(metric="revenue"),
        [
            "Which {g} brought in the most revenue {P}?",
            "top {n} {kind} {g}s by revenue {P}",
            "Which {kind} {g} had the highest revenue {P}?",
            "Which {g} took the most money {P}?",
            "highest revenue {g} {P}",
            "Which {g} made the most money {P}?",
            "Top {n} {goods} by revenue {P}",
            "What was the best {g} for takings {P}?",
        ],
    ),
    "ranking_bottom": (
        _ranking(bottom=True),
        [
            "Which {kind} {g} sold the least {P}?",
            "What were the {n} worst-selling {goods} {P}?",
            "Lowest-selling {g} {P}?",
            "Which {g} sold the fewest {goods} {P}?",
            "bottom {n} {kind} {g}s by units {P}",
        ],
    ),
    "ranking_bottom_revenue": (
        _ranking(bottom=True, metric="revenue"),
        [
            "Which {g} brought in the least revenue {P}?",
            "What was our quietest {g} for revenue {P}?",
            "lowest revenue {g} {P}",
            "Which {kind} {g} took the least money {P}?",
        ],
    ),
    "busiest": (
        _ranking(count=True),
        [
            "What was our busiest {g} {P}?",
            "Which {g} had the most sales {P}?",
            "busiest {g} {P}",
            "Which {g} had the most transactions {P}?",
            "Who made the most sales {P}?",
        ],
    ),
    "comparison": (
        _comparison(SALES_WORDS[:7]),
        [
            "How did {m} {P} compare with {E}?",
            "{m} {P} vs {E}",
            "Compare {m} {P} with {E}",
            "{goods} {m} {P} compared to {E}",
            "Is {m} {P} up on {E}?",
            "{P} {m} versus {E}",
            "Are we up or down on {m} {P} versus {E}?",
            "How does {m} for {goods} {P} compare with {E}?",
        ],
    ),
    "stock": (
        _stock("stock_on_hand"),
        [
            "How many {goods} do we have in stock?",
            "How many {goods} are on hand right now?",
            "How many {goods} have we got in stock?",
            "{goods} in stock",
            "stock on hand of {goods}",
            "how many {goods} in stock",
            "What's our stock level for {goods}?",
            "current stock of {goods}",
            "How many {goods} are in the stockroom?",
            "units of {goods} in stock",
        ],
    ),
    "stock_value": (
        _stock("stock_value"),
        [
            "What's the total value of our stock at cost?",
            "value of {goods} stock",
            "How much is our {goods} stock worth?",
            "stock value",
            "What is our {goods} stock worth at cost?",
            "What's our inventory value at cost for {goods}?",
            "How much are the {goods} in stock worth?",
            "value of stock on hand",
        ],
    ),
    "lab_jobs": (
        _lab_jobs,
        [
            "How many lab jobs are {s} right now?",
            "how many jobs are {s}",
            "Number of lab jobs {s}",
            "How many glasses are {s}?",
            "How many jobs are {s} at the moment?",
            "lab jobs {s}",
            "Count the lab jobs {s}",
        ],
    ),
    "lab_jobs_period": (
        _lab_jobs_in_period,
        [
            "How many lab jobs were {s} {P}?",
            "How many glasses were {s} {P}?",
            "number of lab jobs {s} {P}",
            "How many jobs got {s} {P}?",
        ],
    ),
    "recalls_overdue": (
        _recalls("recalls_overdue"),
        [
            "How many {k}recalls are overdue?",
            "overdue {k}recalls count",
            "How many patients are overdue for their {k}recall?",
            "number of overdue {k}recalls",
            "How many {k}recalls are past due?",
        ],
    ),
    "recalls_due": (
        _recalls("recalls_due", with_period=True),
        [
            "How many {k}recalls are due {P}?",
            "how many patients are due a {k}recall {P}",
            "number of {k}recalls due {P}",
            "How many {k}recalls fall due {P}?",
        ],
    ),
    "patients_seen": (
        _patients_seen,
        [
            "How many patients did we see {P}?",
            "patients seen {P}",
            "How many patients did {staff} see {P}?",
            "Patients seen per {gl} {P}",
            "How many patients has {staff} seen {P}?",
            "number of patients examined {P}",
        ],
    ),
    "low_stock": (
        _low_stock,
        [
            "Which {cat} are low on stock?",
            "what's running low",
            "Which {cat} do we need to reorder?",
            "What {cat} are running low?",
            "list the {cat} below their reorder level",
            "Which products are low on stock?",
            "What do we need to reorder?",
            "Show me low stock {cat}",
        ],
    ),
    "lab_jobs_ready": (
        _fixed({"route": "lab_jobs_ready"}),
        [
            "Which lab jobs are ready for collection?",
            "lab jobs ready",
            "List the jobs waiting to be collected",
            "Which glasses are ready to pick up?",
            "Show me the jobs ready for collection",
            "What's waiting to be collected?",
        ],
    ),
    "recall_list": (
        _recall_list,
        [
            "Which patients are overdue for their {k}?",
            "Who is due an {k}?",
            "List the patients due a {k}",
            "Show me the overdue {k}s",
            "Which patients need a {k} soon?",
        ],
    ),
    "product_lookup": (
        _product_route("product_lookup"),
        [
            "How much is the {x}?",
            "What's the price of the {x}?",
            "Tell me about the {x}",
            "Do we sell the {x}?",
            "What does the {x} cost customers?",
            "price of {x}",
        ],
    ),
    "product_cost": (
        _product_route("product_cost"),
        [
            "What is the cost price of the {x}?",
            "What do we pay for the {x}?",
            "cost price of {x}",
            "How much does the {x} cost us?",
        ],
    ),
    "knowledge": (
        _knowledge,
        [
            "What are {lens} lenses?",
            "How do {lens} lenses work?",
            "What is {cond}?",
            "What causes {cond}?",
            "Can {cond} be corrected with glasses?",
            "How often should {cl} be replaced?",
            "What does {term} mean?",
            "How should I clean {thing}?",
            "Are {lens} lenses good for children?",
            "What's the difference between single vision and {lens} lenses?",
            "Who is a good candidate for {cl}?",
            "Is it safe to sleep in {cl}?",
            "What is {term}?",
            "How long does it take to get used to {lens} lenses?",
            "Can you explain {cond} to a patient?",
            "What are the symptoms of {cond}?",
            "Why would someone choose {lens} lenses?",
            "How do I adjust {thing} that slip down the nose?",
            "What should I tell a patient about {cl}?",
            "How is {term} measured?",
        ],
    ),
    "ask_back": (
        _ask_back_sales,
        [
            "How many {goods} did we sell?",
            "How is business?",
            "What are our sales like?",
            "Show me the numbers for {P}",
            "Give me a breakdown for {P}",
            "Which month was the best?",
            "How much did we take?",
            "What sells best?",
            "How many sales did {staff} make?",
            "Sales figures please",
            "How many {goods} will we sell {F}?",
            "What will our revenue be {F}?",
            "How much will we take {F}?",
            "Which week was the worst?",
            "How did we do {P}?",
            "What's our footfall been {P}?",
            "How many new patients registered {P}?",
            "How many appointments did we have {P}?",
            "How much did we spend on wages {P}?",
            "How many refunds did we give {P}?",
            "What were the figures for our other branch {P}?",
            "How many {goods} did we sell to pensioners {P}?",
            "How many pairs of glasses did we sell {P}?",
            "How many specs did we sell {P}?",
            "numbers for {P}",
        ],
    ),
}


def templates() -> list[Template]:
    """Every template, one in ``HELD_OUT_EVERY`` of each family held out."""
    found = []
    for family, (make, texts) in FAMILIES.items():
        for index, text in enumerate(texts):
            found.append(
                Template(
                    f"{family}-{index + 1:02d}",
                    family,
                    text,
                    make,
                    held_out=index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1,
                )
            )
    return found


# --- wording and typos --------------------------------------------------------------------------------

OPENINGS = [
    "Hi, ",
    "Hello, ",
    "Quick one: ",
    "Could you tell me ",
    "Can you tell me ",
    "Please could you tell me ",
    "Hi there, could you let me know ",
    "Morning! ",
]
CLOSINGS = [" please", " thanks", ", thank you", " please?", " - thanks!"]


def _reworded(question: str, rng: random.Random) -> str:
    text = question
    roll = rng.random()
    if roll < 0.12:
        opening = rng.choice(OPENINGS)
        if opening.endswith("me ") and text[:1].isupper() and text.split(" ", 1)[0].lower() in ("how", "what", "which"):
            text = opening + text[0].lower() + text[1:]
            text = text.rstrip("?") + "?"
        elif not opening.endswith("me "):
            text = opening + text[0].lower() + text[1:] if text[:2] not in ("Q1", "Q2", "Q3", "Q4") else opening + text
    elif roll < 0.2:
        text = text.rstrip("?") + rng.choice(CLOSINGS)
    if rng.random() < 0.25:
        text = text.lower()
    if rng.random() < 0.3:
        text = text.rstrip("?").rstrip()
    if rng.random() < 0.1:
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if w.lower().strip("?,.") in TYPOS]
        if candidates:
            i = rng.choice(candidates)
            bare = words[i].lower().strip("?,.")
            typo = rng.choice(TYPOS[bare])
            words[i] = words[i].lower().replace(bare, typo)
            text = " ".join(words)
    return " ".join(text.split())


def _check(output: dict[str, Any], today: date) -> bool:
    from assistant.tools.periods import PeriodProblem, resolve_period

    reading = read_output(completion_text(output))
    if not reading.valid:
        return False
    period = output.get("period")
    return not (period is not None and isinstance(resolve_period(period, today=today), PeriodProblem))


def router_pairs(
    *,
    vocabulary: Vocabulary,
    split: str,
    count: int,
    seed: int = 20261118,
    today: date | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[RouterPair]:
    """`count` distinct pairs from the templates of `split` ("train" or "held_out"), spread over
    the families, reproducible for the same vocabulary and seed. Questions in `exclude`
    (normalised) are never made."""
    if split not in SPLITS:
        raise ValueError(f"split: must be one of {', '.join(SPLITS)}")
    today = today or date.today()
    rng = random.Random(f"{seed}-{split}")
    phrases = Phrases(vocabulary, rng)
    chosen = [t for t in templates() if t.held_out == (split == "held_out")]
    # Families are weighted by how many questions staff ask of each kind, roughly.
    weight = {family: 1.0 for family in FAMILIES}
    weight.update(units=3.0, revenue=3.0, breakdown=1.5, ranking_units=1.5, ranking_revenue=1.2, comparison=1.2)
    weight.update(knowledge=2.0, ask_back=1.5, stock=1.2)
    weights = [weight[t.family] / sum(1 for u in chosen if u.family == t.family) for t in chosen]
    seen: set[str] = set()
    pairs: list[RouterPair] = []
    attempts = 0
    while len(pairs) < count and attempts < count * 40:
        attempts += 1
        template = rng.choices(chosen, weights=weights)[0]
        made = template.make(phrases, template.text)
        if made is None:
            continue
        question, output = made
        question = _reworded(question[:1].upper() + question[1:], rng)
        key = normalised_question(question)
        if key in seen or key in exclude or not _check(output, today):
            continue
        seen.add(key)
        pairs.append(RouterPair(question, output, template.id, split))
    return pairs


def iter_families(pairs: list[RouterPair]) -> Iterator[tuple[str, int]]:
    counts: dict[str, int] = {}
    for pair in pairs:
        family = pair.template.rsplit("-", 1)[0]
        counts[family] = counts.get(family, 0) + 1
    yield from sorted(counts.items())
