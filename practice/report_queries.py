"""Figures for structured data questions: one metric, filters, a grouping and a ranking over a
period, for the assistant's data-query tool (``assistant.tools.query.DataQuery``) and anything
else that asks in that form.

The rules are those of ``practice.selectors``: sales figures count COMPLETED sales only, money
is VAT-inclusive and net of line discounts, days are the practice's local days and ``end`` is
inclusive. Where the daily rollup (SalesDaySummary) holds what a query needs it is read (units
and revenue under any product filter or grouping; numbers of sales where its per-level counters
are exact); staff, payment methods, margins and distinct sales under brand-like filters read the
sale tables, exactly (as do distinct sales under a brand-like filter, alongside the rollup's units
and revenue).

Definitions the answers state:

- ``revenue`` with a payment method: the payments taken by that method on completed sales;
- ``average_sale_value``: revenue / number of sales (with product filters: the matching lines'
  revenue per sale that had such a line); ``average_units_per_sale`` likewise for units;
- ``margin``: revenue without its VAT less the products' cost prices (their current cost);
- ``stock_on_hand`` / ``stock_value``: now, over every product (active or not), value at cost;
- ``lab_jobs``: by their current status; with a period, those ordered in it, or with a status
  those that reached it in the period ("collected last week");
- ``recalls_due``: pending recalls due within RECALL_DUE_WINDOW_DAYS (overdue ones included),
  ``recalls_overdue``: pending and due before today; with a period: due in it;
- ``patients_seen``: patients with a spectacle or contact lens prescription issued in the period.

Rankings rank the groups that have figures in the period ("of the brands sold"); time groupings
list every day, week (Monday to Sunday), month or quarter of the period, zeros included.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, Min, OuterRef, QuerySet, Sum
from django.db.models.functions import TruncDate

from practice.models import (
    LAB_JOB_TIMESTAMPS,
    Category,
    ContactLensPrescription,
    LabJob,
    LabJobStatus,
    LensType,
    Payment,
    PaymentMethod,
    Product,
    Recall,
    RecallStatus,
    SaleLine,
    SalesDaySummary,
    SaleStatus,
    SpectaclePrescription,
)
from practice.selectors import RECALL_DUE_WINDOW_DAYS

PENNY = Decimal("0.01")
HUNDREDTH = Decimal("0.01")
TIME_GROUPS = ("day", "week", "month", "quarter")
SALES_METRICS = ("units", "revenue", "sales", "average_sale_value", "average_units_per_sale", "margin")
MONTH_NAMES = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class ReportQueryError(ValueError):
    """The combination asked for cannot be computed (the message says which part, in words)."""


@dataclasses.dataclass(frozen=True)
class FigureFilters:
    category: str | None = None
    lens_type: str | None = None
    brand: str | None = None
    supplier: str | None = None
    product_ids: tuple[int, ...] | None = None
    material: str | None = None
    lens_index: Decimal | None = None
    coating: str | None = None
    staff_id: int | None = None
    payment_method: str | None = None
    lab_status: str | None = None
    recall_kind: str | None = None

    @property
    def product_attributes(self) -> bool:
        """Filters the rollup has no column for (they join the product)."""
        return any(
            v is not None for v in (self.brand, self.supplier, self.material, self.lens_index, self.coating)
        ) or (self.product_ids is not None and len(self.product_ids) != 1)


@dataclasses.dataclass
class Figures:
    metric: str
    value: Any  # the headline figure: int, Decimal, or None when grouped
    parts: dict[str, Any]  # the figures it is made of (units, revenue, sales; net revenue and cost)
    rows: list[dict[str, Any]]  # grouped: {group key: key, "label", "value", parts...}
    groups: int  # groups before the limit
    source: str  # "rollup", "sale lines", "payments", "products", "lab jobs", "recalls", "prescriptions"
    first_sale: date | None = None


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(PENNY, ROUND_HALF_UP)


def _ratio(numerator: Any, denominator: int, places: Decimal = PENNY) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator or 0) / Decimal(denominator)).quantize(places, ROUND_HALF_UP)


# --- time buckets ------------------------------------------------------------------------------


def bucket_of(day: date, group_by: str) -> str:
    if group_by == "day":
        return day.isoformat()
    if group_by == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if group_by == "month":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def buckets(start: date, end: date, group_by: str) -> list[str]:
    keys: list[str] = []
    day = start
    while day <= end:
        key = bucket_of(day, group_by)
        if not keys or keys[-1] != key:
            keys.append(key)
        if group_by == "day":
            day += timedelta(days=1)
        elif group_by == "week":
            day = day - timedelta(days=day.weekday()) + timedelta(days=7)
        elif group_by == "month":
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
        else:
            first_month = ((day.month - 1) // 3) * 3 + 1
            day = (date(day.year, first_month, 1) + timedelta(days=95)).replace(day=1)
    return keys


def bucket_label(key: str, group_by: str) -> str:
    if group_by == "day":
        day = date.fromisoformat(key)
        return f"{day:%A} {day.day} {MONTH_NAMES[day.month]} {day.year}"
    if group_by == "week":
        day = date.fromisoformat(key)
        return f"week of {day.day} {MONTH_NAMES[day.month]} {day.year}"
    if group_by == "month":
        year, month = key.split("-")
        return f"{MONTH_NAMES[int(month)]} {year}"
    year, quarter = key.split("-")
    return f"{quarter} {year}"


# --- sales ---------------------------------------------------------------------------------------


def _rollup_usable(metric: str, filters: FigureFilters, group_by: str | None) -> bool:
    """Units and revenue come from the rollup unless staff, payments or cost prices are involved."""
    if metric == "margin" or filters.staff_id is not None or filters.payment_method is not None:
        return False
    return group_by not in ("staff", "payment_method")


def _rollup_counts_sales(filters: FigureFilters, group_by: str | None) -> bool:
    """The rollup counts each sale once per product, lens type, category or day: under a brand-like
    filter or grouping a sale with two matching products would count twice."""
    return not filters.product_attributes and group_by not in ("brand", "supplier")


def _product_filters(rows: QuerySet[Any], filters: FigureFilters, prefix: str) -> QuerySet[Any]:
    conditions: dict[str, Any] = {}
    if filters.brand is not None:
        conditions[f"{prefix}brand__iexact"] = filters.brand
    if filters.supplier is not None:
        conditions[f"{prefix}supplier__iexact"] = filters.supplier
    if filters.material is not None:
        conditions[f"{prefix}lens_material"] = filters.material
    if filters.lens_index is not None:
        conditions[f"{prefix}lens_index"] = filters.lens_index
    if filters.coating is not None:
        conditions[f"{prefix}coatings__contains"] = [filters.coating]
    if filters.product_ids is not None:
        conditions[f"{prefix}id__in" if prefix else "id__in"] = list(filters.product_ids)
    return rows.filter(**conditions)


def _rollup(start: date, end: date, filters: FigureFilters) -> QuerySet[SalesDaySummary]:
    rows = SalesDaySummary.objects.filter(day__gte=start, day__lte=end)
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.lens_type:
        rows = rows.filter(lens_type=filters.lens_type)
    return _product_filters(rows, filters, "product__")


def _lines(start: date, end: date, filters: FigureFilters) -> QuerySet[SaleLine]:
    rows = SaleLine.objects.filter(
        sale__status=SaleStatus.COMPLETED, sale__sale_date__gte=start, sale__sale_date__lte=end
    )
    if filters.category:
        rows = rows.filter(category=filters.category)
    if filters.lens_type:
        rows = rows.filter(lens_type=filters.lens_type)
    if filters.staff_id is not None:
        rows = rows.filter(sale__staff_id=filters.staff_id)
    if filters.payment_method is not None:
        rows = rows.filter(Exists(Payment.objects.filter(sale_id=OuterRef("sale_id"), method=filters.payment_method)))
    return _product_filters(rows, filters, "product__")


def _sales_counter(filters: FigureFilters, group_by: str | None) -> str:
    if filters.product_ids is not None or group_by == "product":
        return "sales_product"
    if filters.lens_type or group_by == "lens_type":
        return "sales_lens_type"
    if filters.category or group_by == "category":
        return "sales_category"
    return "sales_any"


ROLLUP_KEYS = {
    "day": "day",
    "product": "product_id",
    "brand": "product__brand",
    "category": "category",
    "lens_type": "lens_type",
    "supplier": "product__supplier",
}
LINE_KEYS = {
    "day": "sale__sale_date",
    "product": "product_id",
    "brand": "product__brand",
    "category": "category",
    "lens_type": "lens_type",
    "supplier": "product__supplier",
    "staff": "sale__staff_id",
}
NET = ExpressionWrapper(
    F("line_total") * Decimal(100) / (Decimal(100) + F("tax_rate")),
    output_field=DecimalField(max_digits=30, decimal_places=10),
)
COST = ExpressionWrapper(
    F("quantity") * F("product__cost_price"), output_field=DecimalField(max_digits=30, decimal_places=2)
)


def _sales_parts(
    metric: str, start: date, end: date, filters: FigureFilters, group_by: str | None
) -> tuple[dict[Any, dict[str, Any]], str]:
    """Per group key (None when ungrouped, the day for time groupings): the figures a sales metric
    is made of."""
    time_grouped = group_by in TIME_GROUPS
    if (metric == "revenue" and filters.payment_method is not None) or group_by == "payment_method":
        return _payment_parts(metric, start, end, filters, group_by), "payments"
    line_key = LINE_KEYS["day" if time_grouped else group_by] if group_by else None
    if _rollup_usable(metric, filters, group_by):
        rows: QuerySet[Any] = _rollup(start, end, filters)
        if group_by == "lens_type":
            rows = rows.exclude(lens_type="")
        totals: dict[str, Any] = {"units": Sum("units"), "revenue": Sum("revenue")}
        exact = _rollup_counts_sales(filters, group_by)
        if exact:
            totals["sales"] = Sum(_sales_counter(filters, group_by))
        key = ROLLUP_KEYS["day" if time_grouped else group_by] if group_by else None
        if key is None:
            grouped = {None: rows.aggregate(**totals)}
        else:
            grouped = {row[key]: row for row in rows.values(key).annotate(**totals).order_by()}
        if not exact:
            for counted_key, count in _distinct_sales(start, end, filters, group_by, line_key).items():
                grouped.setdefault(counted_key, {"units": 0, "revenue": Decimal("0")})["sales"] = count
            for parts in grouped.values():
                parts.setdefault("sales", 0)
        return grouped, "rollup" if exact else "rollup and sale lines"
    lines = _lines(start, end, filters)
    if group_by == "lens_type":
        lines = lines.exclude(lens_type="")
    totals = {"units": Sum("quantity"), "revenue": Sum("line_total"), "sales": Count("sale_id", distinct=True)}
    if metric == "margin":
        totals.update(net=Sum(NET), cost=Sum(COST))
    if line_key is None:
        return {None: lines.aggregate(**totals)}, "sale lines"
    return {row[line_key]: row for row in lines.values(line_key).annotate(**totals).order_by()}, "sale lines"


def _distinct_sales(
    start: date, end: date, filters: FigureFilters, group_by: str | None, key: str | None
) -> dict[Any, int]:
    lines = _lines(start, end, filters)
    if group_by == "lens_type":
        lines = lines.exclude(lens_type="")
    if key is None:
        return {None: lines.aggregate(n=Count("sale_id", distinct=True))["n"]}
    return {row[key]: row["n"] for row in lines.values(key).annotate(n=Count("sale_id", distinct=True)).order_by()}


def _payment_parts(
    metric: str, start: date, end: date, filters: FigureFilters, group_by: str | None
) -> dict[Any, dict[str, Any]]:
    if filters.product_attributes or filters.category or filters.lens_type or filters.product_ids:
        raise ReportQueryError("payments are taken for whole sales, so they cannot be split by product")
    if metric not in ("revenue", "sales"):
        raise ReportQueryError(f"{metric.replace('_', ' ')} cannot be split by payment method")
    payments = Payment.objects.filter(
        sale__status=SaleStatus.COMPLETED, sale__sale_date__gte=start, sale__sale_date__lte=end
    )
    if filters.payment_method is not None:
        payments = payments.filter(method=filters.payment_method)
    if filters.staff_id is not None:
        payments = payments.filter(sale__staff_id=filters.staff_id)
    totals = {"revenue": Sum("amount"), "sales": Count("sale_id", distinct=True)}
    if group_by is None:
        return {None: payments.aggregate(**totals)}
    key = "sale__sale_date" if group_by in TIME_GROUPS else "method"
    return {row[key]: row for row in payments.values(key).annotate(**totals).order_by()}


def _sales_value(metric: str, parts: dict[str, Any]) -> Any:
    units, revenue, sales = int(parts.get("units") or 0), _money(parts.get("revenue")), int(parts.get("sales") or 0)
    if metric == "units":
        return units
    if metric == "revenue":
        return revenue
    if metric == "sales":
        return sales
    if metric == "average_sale_value":
        return _ratio(parts.get("revenue"), sales)
    if metric == "average_units_per_sale":
        return _ratio(parts.get("units"), sales, HUNDREDTH)
    return _money(Decimal(parts.get("net") or 0) - Decimal(parts.get("cost") or 0))


def _sales_clean(metric: str, parts: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "units" in parts:  # payments have no units
        clean["units"] = int(parts["units"] or 0)
    clean["revenue"] = _money(parts.get("revenue"))
    clean["sales"] = int(parts.get("sales") or 0)
    if metric == "margin":
        net, cost = Decimal(parts.get("net") or 0), Decimal(parts.get("cost") or 0)
        clean["net_revenue"], clean["cost"] = _money(net), _money(cost)
        clean["margin_percent"] = ((net - cost) * 100 / net).quantize(Decimal("0.1"), ROUND_HALF_UP) if net else None
    return clean


def _sales_figures(
    metric: str, start: date, end: date, filters: FigureFilters, group_by: str | None
) -> tuple[Any, dict[str, Any], dict[Any, tuple[Any, dict[str, Any]]], str]:
    grouped, source = _sales_parts(metric, start, end, filters, group_by)
    if group_by is None:
        parts = grouped[None]
        return _sales_value(metric, parts), _sales_clean(metric, parts), {}, source
    if group_by in TIME_GROUPS:
        merged: dict[str, dict[str, Any]] = defaultdict(dict)
        for day, parts in grouped.items():
            bucket = merged[bucket_of(day, group_by)]
            for name in ("units", "revenue", "sales", "net", "cost"):
                if name in parts:
                    bucket[name] = bucket.get(name, 0) + (parts[name] or 0)
        grouped = dict(merged)
    return (
        None,
        {},
        {key: (_sales_value(metric, parts), _sales_clean(metric, parts)) for key, parts in grouped.items()},
        source,
    )


# --- other metrics ---------------------------------------------------------------------------------


def _products(filters: FigureFilters) -> QuerySet[Product]:
    products = Product.objects.all()
    if filters.category:
        products = products.filter(category=filters.category)
    if filters.lens_type:
        products = products.filter(lens_type=filters.lens_type)
    return _product_filters(products, filters, "")


STOCK_KEYS = {
    "product": "id",
    "brand": "brand",
    "category": "category",
    "lens_type": "lens_type",
    "supplier": "supplier",
}


def _stock_figures(metric: str, filters: FigureFilters, group_by: str | None) -> dict[Any, Any]:
    products = _products(filters)
    if group_by == "lens_type":
        products = products.exclude(lens_type="")
    total = (
        Sum("quantity_on_hand")
        if metric == "stock_on_hand"
        else Sum(
            ExpressionWrapper(
                F("quantity_on_hand") * F("cost_price"), output_field=DecimalField(max_digits=20, decimal_places=2)
            )
        )
    )

    def value(raw: Any) -> Any:
        return int(raw or 0) if metric == "stock_on_hand" else _money(raw)

    if group_by is None:
        return {None: value(products.aggregate(total=total)["total"])}
    key = STOCK_KEYS[group_by]
    return {row[key]: value(row["total"]) for row in products.values(key).annotate(total=total).order_by()}


def _lab_job_figures(start: date | None, end: date | None, filters: FigureFilters, group_by: str | None) -> dict:
    jobs = LabJob.objects.all()
    if filters.lab_status:
        jobs = jobs.filter(status=filters.lab_status)
    # With a status, a period means when the jobs reached it ("collected last week"); otherwise
    # when they were ordered.
    moment = LAB_JOB_TIMESTAMPS[filters.lab_status] if filters.lab_status else "ordered_at"
    jobs = jobs.annotate(on=TruncDate(moment))
    if start is not None and end is not None:
        jobs = jobs.filter(on__gte=start, on__lte=end)
    if group_by is None:
        return {None: jobs.count()}
    if group_by == "status":
        return {row["status"]: row["n"] for row in jobs.values("status").annotate(n=Count("id")).order_by()}
    counts: dict[str, int] = defaultdict(int)
    for row in jobs.values("on").annotate(n=Count("id")).order_by():
        if row["on"] is not None:
            counts[bucket_of(row["on"], group_by)] += row["n"]
    return dict(counts)


def _recall_figures(metric: str, today: date, start: date | None, end: date | None, filters: FigureFilters) -> int:
    recalls = Recall.objects.filter(status=RecallStatus.PENDING)
    if filters.recall_kind:
        recalls = recalls.filter(kind=filters.recall_kind)
    if start is not None and end is not None:
        recalls = recalls.filter(due_date__gte=start, due_date__lte=end)
    if metric == "recalls_overdue":
        recalls = recalls.filter(due_date__lt=today)
    elif start is None:
        recalls = recalls.filter(due_date__lte=today + timedelta(days=RECALL_DUE_WINDOW_DAYS))
    return recalls.count()


def _patients_seen(start: date, end: date, filters: FigureFilters, group_by: str | None) -> dict[Any, int]:
    seen: Iterable[tuple[int, date, int | None]] = []
    for model in (SpectaclePrescription, ContactLensPrescription):
        prescriptions = model.objects.filter(issue_date__gte=start, issue_date__lte=end)
        if filters.staff_id is not None:
            prescriptions = prescriptions.filter(issued_by_id=filters.staff_id)
        seen = [*seen, *prescriptions.values_list("patient_id", "issue_date", "issued_by_id")]
    groups: dict[Any, set[int]] = defaultdict(set)
    for patient_id, issued, by in seen:
        if group_by is None:
            key: Any = None
        elif group_by == "staff":
            if by is None:
                continue
            key = by
        else:
            key = bucket_of(issued, group_by)
        groups[key].add(patient_id)
    if group_by is None:
        return {None: len(groups.get(None, set()))}
    return {key: len(patients) for key, patients in groups.items()}


# --- labels, order and the entry point ----------------------------------------------------------------


def bucket_span(key: str, group_by: str) -> tuple[date, date]:
    if group_by == "day":
        day = date.fromisoformat(key)
        return day, day
    if group_by == "week":
        day = date.fromisoformat(key)
        return day, day + timedelta(days=6)
    year_text, part = key.split("-")
    year = int(year_text)
    first_month = int(part) if group_by == "month" else (int(part[1:]) - 1) * 3 + 1
    months = 1 if group_by == "month" else 3
    start = date(year, first_month, 1)
    after = date(year + (first_month + months - 1) // 12, (first_month + months - 1) % 12 + 1, 1)
    return start, after - timedelta(days=1)


def _time_label(key: str, group_by: str, start: date | None, end: date | None) -> str:
    """ "November 2025 (from 19 November)": a bucket the period only partly covers says so."""
    label = bucket_label(key, group_by)
    first, last = bucket_span(key, group_by)
    notes = []
    if start is not None and first < start:
        notes.append(f"from {start.day} {MONTH_NAMES[start.month]}")
    if end is not None and last > end:
        notes.append(f"to {end.day} {MONTH_NAMES[end.month]}")
    return f"{label} ({', '.join(notes)})" if notes else label


def _labels(group_by: str, keys: Iterable[Any], start: date | None = None, end: date | None = None) -> dict[Any, str]:
    keys = list(keys)
    if group_by in TIME_GROUPS:
        return {key: _time_label(key, group_by, start, end) for key in keys}
    if group_by == "product":
        products = Product.objects.in_bulk([k for k in keys if k is not None])
        return {k: f"{p.brand} {p.model} ({p.sku})" for k, p in products.items()}
    if group_by == "category":
        return {k: str(dict(Category.choices).get(k, k)) for k in keys}
    if group_by == "lens_type":
        return {k: str(dict(LensType.choices).get(k, k)) for k in keys}
    if group_by == "payment_method":
        return {k: str(dict(PaymentMethod.choices).get(k, k)) for k in keys}
    if group_by == "status":
        return {k: str(dict(LabJobStatus.choices).get(k, k)) for k in keys}
    if group_by == "staff":
        users = get_user_model().objects.in_bulk([k for k in keys if k is not None])
        return {k: (u.get_full_name() or u.get_username()) for k, u in users.items()}
    return {k: str(k) for k in keys}


def _identities(group_by: str, keys: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    """What names a product or a member of staff outside this database: SKU, username."""
    keys = [k for k in keys if k is not None]
    if group_by == "product":
        return {pk: {"sku": sku} for pk, sku in Product.objects.filter(pk__in=keys).values_list("pk", "sku")}
    if group_by == "staff":
        users = get_user_model().objects.filter(pk__in=keys)
        return {user.pk: {"username": user.get_username()} for user in users}
    return {}


def _key_name(group_by: str) -> str:
    return {"product": "product_id", "staff": "staff_id"}.get(group_by, group_by)


def _arrange(
    values: dict[Any, tuple[Any, dict[str, Any]]],
    *,
    group_by: str,
    start: date | None,
    end: date | None,
    rank: str | None,
    limit: int | None,
    zero: Any,
) -> tuple[list[dict[str, Any]], int]:
    time_grouped = group_by in TIME_GROUPS
    if time_grouped and start is not None and end is not None and zero is not None:
        filled = {key: values.get(key, (zero, {})) for key in buckets(start, end, group_by)}
    else:
        filled = dict(values)
    labels = _labels(group_by, filled, start, end)
    identities = _identities(group_by, filled)
    rows = [
        {
            _key_name(group_by): key,
            **identities.get(key, {}),
            "label": labels.get(key, str(key)),
            "value": value,
            **parts,
        }
        for key, (value, parts) in filled.items()
        if value is not None
    ]
    if rank == "bottom":
        # Groups with no figures in the period are not ranked ("of the brands sold").
        rows = [row for row in rows if key_had_figures(row, values, group_by)]
        rows.sort(key=lambda row: (row["value"], row["label"]))
    elif rank == "top" or not time_grouped:
        rows.sort(key=lambda row: (-row["value"], row["label"]))
    else:
        rows.sort(key=lambda row: row[group_by])
    count = len(rows)
    if limit is not None:
        rows = rows[:limit]
    return rows, count


def key_had_figures(row: dict[str, Any], values: dict[Any, Any], group_by: str) -> bool:
    return row[_key_name(group_by)] in values


def first_sale_date() -> date | None:
    """The day of the first completed sale on record (an answer for a longer period says so)."""
    return SaleLine.objects.filter(sale__status=SaleStatus.COMPLETED).aggregate(first=Min("sale__sale_date"))["first"]


def report_figures(
    *,
    metric: str,
    today: date,
    start: date | None = None,
    end: date | None = None,
    filters: FigureFilters | None = None,
    group_by: str | None = None,
    rank: str | None = None,
    limit: int | None = None,
) -> Figures:
    """The figures for one structured query (see the module docstring for the definitions).

    Raises ReportQueryError for a combination that cannot be computed."""
    filters = filters or FigureFilters()
    if (metric in SALES_METRICS or metric == "patients_seen") and (start is None or end is None):
        raise ReportQueryError(f"{metric.replace('_', ' ')} needs a period")
    if metric in SALES_METRICS:
        assert start is not None and end is not None
        value, parts, grouped, source = _sales_figures(metric, start, end, filters, group_by)
        first = first_sale_date()
        if group_by is None:
            return Figures(metric, value, parts, [], 0, source, first)
        zero = None if metric.startswith("average") else _sales_value(metric, {})
        rows, count = _arrange(grouped, group_by=group_by, start=start, end=end, rank=rank, limit=limit, zero=zero)
        return Figures(metric, None, {}, rows, count, source, first)
    if metric in ("stock_on_hand", "stock_value"):
        stock = _stock_figures(metric, filters, group_by)
        if group_by is None:
            return Figures(metric, stock[None], {}, [], 0, "products")
        rows, count = _arrange(
            {k: (v, {}) for k, v in stock.items()},
            group_by=group_by,
            start=None,
            end=None,
            rank=rank,
            limit=limit,
            zero=None,
        )
        return Figures(metric, None, {}, rows, count, "products")
    if metric == "lab_jobs":
        jobs = _lab_job_figures(start, end, filters, group_by)
        if group_by is None:
            return Figures(metric, jobs[None], {}, [], 0, "lab jobs")
        rows, count = _arrange(
            {k: (v, {}) for k, v in jobs.items()},
            group_by=group_by,
            start=start,
            end=end,
            rank=rank,
            limit=limit,
            zero=0,
        )
        return Figures(metric, None, {}, rows, count, "lab jobs")
    if metric in ("recalls_due", "recalls_overdue"):
        if group_by is not None:
            raise ReportQueryError("recalls cannot be grouped")
        return Figures(metric, _recall_figures(metric, today, start, end, filters), {}, [], 0, "recalls")
    if metric == "patients_seen":
        assert start is not None and end is not None
        seen = _patients_seen(start, end, filters, group_by)
        if group_by is None:
            return Figures(metric, seen[None], {}, [], 0, "prescriptions")
        rows, count = _arrange(
            {k: (v, {}) for k, v in seen.items()},
            group_by=group_by,
            start=start,
            end=end,
            rank=rank,
            limit=limit,
            zero=0 if group_by in TIME_GROUPS else None,
        )
        return Figures(metric, None, {}, rows, count, "prescriptions")
    raise ReportQueryError(f"unknown metric {metric!r}")
