"""The structured data query: one flat form for every figure question about the practice.

Whatever reads the question produces this same JSON (the question parser, a chat model decoding
under the grammar built from ``DataQuery.model_json_schema()``, a fine-tuned router), and it is
validated here before the practice selectors run it (``practice.report_queries``). It is kept
with the answer (the message's tool call and the tool result's ``arguments``), so a misreading
is visible at a glance.

- ``metric``: what is counted or summed. Sales figures (units, revenue, number of sales, the
  two averages, margin) come from completed sales only, VAT-inclusive and net of discounts, in
  the practice's local days. ``margin`` and ``stock_value`` are cost figures.
- ``period`` (words such as "last month", resolved by ``assistant.tools.periods``) or
  ``start``/``end`` (inclusive ISO dates, which win when given). Stock figures are as of now and
  take no period; recalls without one mean "due within 30 days" or "overdue today".
- Filters: ``category``, ``lens_type``, ``brand``, ``supplier``, ``product`` (a SKU or words of a
  product's name), ``material``, ``lens_index``, ``coating``, ``staff`` (a name or username),
  ``payment_method``, ``lab_status``, ``recall_kind``.
- ``group_by`` with optional ``rank`` ("top"/"bottom") and ``limit`` (top 5, or 1 for
  "highest"/"best month"); ``compare`` a single figure with the previous period of the same
  length or the same period last year.

Enumerations are the values of ``practice.models.choices``; the schema stays flat and small so
that a small model can emit it under a grammar.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from practice.models import (
    LENS_INDEXES,
    Category,
    Coating,
    LabJobStatus,
    LensMaterial,
    LensType,
    PaymentMethod,
    RecallKind,
)


class Metric(StrEnum):
    UNITS = "units"
    REVENUE = "revenue"
    SALES = "sales"  # the number of completed sales
    AVERAGE_SALE_VALUE = "average_sale_value"
    AVERAGE_UNITS_PER_SALE = "average_units_per_sale"
    MARGIN = "margin"
    STOCK_ON_HAND = "stock_on_hand"
    STOCK_VALUE = "stock_value"
    LAB_JOBS = "lab_jobs"
    RECALLS_DUE = "recalls_due"
    RECALLS_OVERDUE = "recalls_overdue"
    PATIENTS_SEEN = "patients_seen"


class GroupBy(StrEnum):
    PRODUCT = "product"
    BRAND = "brand"
    CATEGORY = "category"
    LENS_TYPE = "lens_type"
    SUPPLIER = "supplier"
    STAFF = "staff"
    PAYMENT_METHOD = "payment_method"
    STATUS = "status"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


class Rank(StrEnum):
    TOP = "top"
    BOTTOM = "bottom"


class Compare(StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    SAME_PERIOD_LAST_YEAR = "same_period_last_year"


SALES_METRICS = frozenset(
    {
        Metric.UNITS,
        Metric.REVENUE,
        Metric.SALES,
        Metric.AVERAGE_SALE_VALUE,
        Metric.AVERAGE_UNITS_PER_SALE,
        Metric.MARGIN,
    }
)
STOCK_METRICS = frozenset({Metric.STOCK_ON_HAND, Metric.STOCK_VALUE})
COST_METRICS = frozenset({Metric.MARGIN, Metric.STOCK_VALUE})
TIME_GROUPS = frozenset({GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH, GroupBy.QUARTER})
PRODUCT_FILTERS = ("category", "lens_type", "brand", "supplier", "product", "material", "lens_index", "coating")
# Which filters and groupings each metric takes; anything else is refused by name.
METRIC_FILTERS: dict[Metric, tuple[str, ...]] = {
    **{metric: (*PRODUCT_FILTERS, "staff", "payment_method") for metric in SALES_METRICS},
    Metric.MARGIN: (*PRODUCT_FILTERS, "staff"),
    Metric.STOCK_ON_HAND: PRODUCT_FILTERS,
    Metric.STOCK_VALUE: PRODUCT_FILTERS,
    Metric.LAB_JOBS: ("lab_status",),
    Metric.RECALLS_DUE: ("recall_kind",),
    Metric.RECALLS_OVERDUE: ("recall_kind",),
    Metric.PATIENTS_SEEN: ("staff",),
}
_SALES_GROUPS = frozenset(GroupBy) - {GroupBy.STATUS, GroupBy.PAYMENT_METHOD}
METRIC_GROUPS: dict[Metric, frozenset[GroupBy]] = {
    Metric.UNITS: _SALES_GROUPS,
    Metric.REVENUE: _SALES_GROUPS | {GroupBy.PAYMENT_METHOD},
    Metric.SALES: _SALES_GROUPS | {GroupBy.PAYMENT_METHOD},
    Metric.AVERAGE_SALE_VALUE: _SALES_GROUPS - {GroupBy.PRODUCT},
    Metric.AVERAGE_UNITS_PER_SALE: _SALES_GROUPS - {GroupBy.PRODUCT},
    Metric.MARGIN: _SALES_GROUPS,
    Metric.STOCK_ON_HAND: frozenset(
        {GroupBy.PRODUCT, GroupBy.BRAND, GroupBy.CATEGORY, GroupBy.LENS_TYPE, GroupBy.SUPPLIER}
    ),
    Metric.STOCK_VALUE: frozenset(
        {GroupBy.PRODUCT, GroupBy.BRAND, GroupBy.CATEGORY, GroupBy.LENS_TYPE, GroupBy.SUPPLIER}
    ),
    Metric.LAB_JOBS: TIME_GROUPS | {GroupBy.STATUS},
    Metric.RECALLS_DUE: frozenset(),
    Metric.RECALLS_OVERDUE: frozenset(),
    Metric.PATIENTS_SEEN: TIME_GROUPS | {GroupBy.STAFF},
}
LENS_ONLY_FILTERS = ("lens_type", "material", "lens_index", "coating")
LENS_INDEX_VALUES = [f"{index:.2f}" for index in LENS_INDEXES]


def _known_index(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        written = f"{float(value):.2f}"
    except ValueError:
        written = value
    if written not in LENS_INDEX_VALUES:
        raise ValueError(f"must be one of {', '.join(LENS_INDEX_VALUES)}")
    return written


LensIndex = Annotated[
    str,
    AfterValidator(_known_index),
    WithJsonSchema({"type": "string", "enum": LENS_INDEX_VALUES}),
]
Words = Annotated[str, Field(min_length=1, max_length=120)]


class DataQuery(BaseModel):
    """A figure question about the practice's own data (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, str_strip_whitespace=True)

    metric: Metric
    period: str | None = Field(None, max_length=80, description='In words: "last month", "Q1 2026"')
    start: date | None = None
    end: date | None = None
    compare: Compare | None = None
    category: Category | None = None
    lens_type: LensType | None = None
    brand: Words | None = None
    supplier: Words | None = None
    product: Words | None = Field(None, description="A SKU or words of a product's name")
    material: LensMaterial | None = None
    lens_index: LensIndex | None = None
    coating: Coating | None = None
    staff: Words | None = Field(None, description="A staff member's name or username")
    payment_method: PaymentMethod | None = None
    lab_status: LabJobStatus | None = None
    recall_kind: RecallKind | None = None
    group_by: GroupBy | None = None
    rank: Rank | None = None
    limit: int | None = Field(None, ge=1, le=50)

    @model_validator(mode="after")
    def _consistent(self) -> DataQuery:
        metric = self.metric
        if self.start and self.end and self.end < self.start:
            raise ValueError("end must not be before start")
        if self.end and not self.start:
            raise ValueError("end needs a start")
        allowed = METRIC_FILTERS[metric]
        for name in (*PRODUCT_FILTERS, "staff", "payment_method", "lab_status", "recall_kind"):
            if getattr(self, name) is not None and name not in allowed:
                raise ValueError(f"{name} does not apply to {metric.value}")
        if self.category not in (None, Category.SPECTACLE_LENS):
            for name in LENS_ONLY_FILTERS:
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} applies to spectacle lenses only, not category {self.category.value}")
        if self.group_by is not None and self.group_by not in METRIC_GROUPS[metric]:
            raise ValueError(f"group_by {self.group_by.value} does not apply to {metric.value}")
        if self.rank is not None and self.group_by is None:
            raise ValueError("rank needs a group_by (what is ranked)")
        if self.limit is not None and self.group_by is None:
            raise ValueError("limit needs a group_by")
        if self.compare is not None and self.group_by is not None:
            raise ValueError("compare applies to a single figure, not to a grouped one")
        if metric in STOCK_METRICS and (self.period or self.start or self.compare):
            raise ValueError(f"{metric.value} is a figure as of now and takes no period")
        if metric in {Metric.RECALLS_DUE, Metric.RECALLS_OVERDUE} and self.compare:
            raise ValueError(f"compare does not apply to {metric.value}")
        return self

    def arguments(self) -> dict[str, Any]:
        """The query as JSON-safe tool arguments (unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def data_query_schema() -> dict[str, Any]:
    """The JSON schema the question parser's output, a model's tool call and a router all meet."""
    return DataQuery.model_json_schema()
