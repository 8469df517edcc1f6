"""The data-query tool: a validated DataQuery, run by ``practice.report_queries``, answered in
sentences that state the period, the filters and the grouping they used ("Last month (1–31
October 2026), progressive lenses, completed sales: 37 units sold ..."), composed from the
figures alone so the answer quotes them verbatim.

Names in the query (brand, supplier, product, staff) are resolved against the practice's data
here: one that matches nothing is a ToolError naming the field, never a figure for everything.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from assistant.tools.periods import Period, PeriodProblem, previous_period, resolve_period, same_period_last_year
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
from assistant.tools.toolset import Tool, ToolContext, ToolError, ToolResult, plain, register
from practice.models import Category, Coating, LabJobStatus, LensMaterial, LensType, PaymentMethod, RecallKind
from practice.report_queries import FigureFilters, Figures, ReportQueryError, report_figures
from practice.selectors import RECALL_DUE_WINDOW_DAYS

REPORTS = "practice.view_reports"
COST = "practice.view_cost_price"
REFUSE_REPORTS = "Sorry, you don't have permission to see sales reports."
REFUSE_COST = "Sorry, you don't have permission to see cost prices and margins."
SALES_BASIS = "completed sales, VAT-inclusive, net of discounts"
PATIENTS_SEEN_DEFINITION = "patients with a spectacle or contact lens prescription issued in the period"

CATEGORY_NOUNS = {
    Category.FRAME: "frames",
    Category.SPECTACLE_LENS: "spectacle lenses",
    Category.CONTACT_LENS: "contact lenses",
    Category.ACCESSORY: "accessories",
    Category.SOLUTION: "solutions",
}
GROUP_NOUNS = {
    GroupBy.PRODUCT: ("product", "products"),
    GroupBy.BRAND: ("brand", "brands"),
    GroupBy.CATEGORY: ("category", "categories"),
    GroupBy.LENS_TYPE: ("lens type", "lens types"),
    GroupBy.SUPPLIER: ("supplier", "suppliers"),
    GroupBy.STAFF: ("member of staff", "members of staff"),
    GroupBy.PAYMENT_METHOD: ("payment method", "payment methods"),
    GroupBy.STATUS: ("status", "statuses"),
    GroupBy.DAY: ("day", "days"),
    GroupBy.WEEK: ("week", "weeks"),
    GroupBy.MONTH: ("month", "months"),
    GroupBy.QUARTER: ("quarter", "quarters"),
}
METRIC_WORDS = {
    Metric.UNITS: "units sold",
    Metric.REVENUE: "revenue",
    Metric.SALES: "number of sales",
    Metric.AVERAGE_SALE_VALUE: "average sale value",
    Metric.AVERAGE_UNITS_PER_SALE: "average units per sale",
    Metric.MARGIN: "margin",
    Metric.STOCK_ON_HAND: "units in stock",
    Metric.STOCK_VALUE: "stock value at cost",
    Metric.LAB_JOBS: "lab jobs",
    Metric.RECALLS_DUE: "recalls due",
    Metric.RECALLS_OVERDUE: "overdue recalls",
    Metric.PATIENTS_SEEN: "patients seen",
}
COATING_WORDS = {
    Coating.ANTI_REFLECTIVE: "with an anti-reflective coating",
    Coating.BLUE_FILTER: "with a blue filter",
    Coating.PHOTOCHROMIC: "photochromic",
    Coating.HARD_COAT: "with a hard coat",
    Coating.UV: "with UV protection",
}
LAB_STATUS_WORDS = {
    LabJobStatus.ORDERED: "ordered, not yet at the lab",
    LabJobStatus.AT_LAB: "at the lab",
    LabJobStatus.READY: "ready for collection",
    LabJobStatus.COLLECTED: "collected",
    LabJobStatus.CANCELLED: "cancelled",
    LabJobStatus.REMAKE: "on remake",
}
# A status filter with a period counts the jobs that reached that status in the period.
LAB_STATUS_EVENT = {
    LabJobStatus.ORDERED: "ordered",
    LabJobStatus.AT_LAB: "sent to the lab",
    LabJobStatus.READY: "ready",
    LabJobStatus.COLLECTED: "collected",
    LabJobStatus.CANCELLED: "cancelled",
    LabJobStatus.REMAKE: "sent for a remake",
}


def money(value: Any) -> str:
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    return f"£{amount:,}"


def figure(metric: Metric, value: Any) -> str:
    """A figure as the answer writes it (and the evaluation looks for it)."""
    if value is None:
        return "no figure"
    if metric in (Metric.REVENUE, Metric.AVERAGE_SALE_VALUE, Metric.MARGIN, Metric.STOCK_VALUE):
        return money(value)
    if metric == Metric.AVERAGE_UNITS_PER_SALE:
        return f"{Decimal(value):.2f}"
    return f"{int(value):,}"


def _choice_label(choices: Any, value: str) -> str:
    return str(dict(choices.choices).get(value, value))


# --- the period and the names ------------------------------------------------------------------------


def _period(query: DataQuery, today: date) -> Period | None:
    if query.start is not None:
        end = query.end or today
        label = query.period or ""
        return Period(query.start, end, label if label and not label[:1].isdigit() else "")
    if query.period:
        resolved = resolve_period(query.period, today=today)
        if isinstance(resolved, PeriodProblem):
            raise ToolError(f"period: {resolved.question()}")
        return resolved
    return None


def _resolve_names(query: DataQuery) -> FigureFilters:
    from practice.models import Product

    product_ids: tuple[int, ...] | None = None
    if query.product:
        exact = list(Product.objects.filter(sku__iexact=query.product).values_list("id", flat=True))
        if exact:
            product_ids = tuple(exact)
        else:
            matches = Product.objects.all()
            for word in query.product.split():
                matches = matches.filter(Q(model__icontains=word) | Q(sku__iexact=word))
            product_ids = tuple(matches.values_list("id", flat=True))
            if not product_ids:
                raise ToolError(f"product: no product in the catalogue matches “{query.product}”.")
    brand = supplier = None
    if query.brand:
        brand = Product.objects.filter(brand__iexact=query.brand).values_list("brand", flat=True).first()
        if brand is None:
            raise ToolError(f"brand: no brand called “{query.brand}” in the catalogue.")
    if query.supplier:
        supplier = Product.objects.filter(supplier__iexact=query.supplier).values_list("supplier", flat=True).first()
        if supplier is None:
            raise ToolError(f"supplier: no supplier called “{query.supplier}” in the catalogue.")
    staff_id = None
    if query.staff:
        staff_id = _staff_id(query.staff)
    return FigureFilters(
        category=query.category.value if query.category else None,
        lens_type=query.lens_type.value if query.lens_type else None,
        brand=brand,
        supplier=supplier,
        product_ids=product_ids,
        material=query.material.value if query.material else None,
        lens_index=Decimal(query.lens_index) if query.lens_index else None,
        coating=query.coating.value if query.coating else None,
        staff_id=staff_id,
        payment_method=query.payment_method.value if query.payment_method else None,
        lab_status=query.lab_status.value if query.lab_status else None,
        recall_kind=query.recall_kind.value if query.recall_kind else None,
    )


def _staff_id(name: str) -> int:
    users = get_user_model().objects.filter(is_active=True)
    exact = list(users.filter(username__iexact=name).values_list("id", flat=True))
    if exact:
        return exact[0]
    parts = name.split()
    candidates = users
    for part in parts:
        candidates = candidates.filter(Q(first_name__iexact=part) | Q(last_name__iexact=part))
    ids = list(candidates.values_list("id", flat=True)[:2])
    if len(ids) != 1:
        raise ToolError(f"staff: {'no member' if not ids else 'more than one member'} of staff is called “{name}”.")
    return ids[0]


def _staff_name(user_id: int) -> str:
    user = get_user_model().objects.filter(pk=user_id).first()
    return (user.get_full_name() or user.get_username()) if user else str(user_id)


# --- wording -------------------------------------------------------------------------------------------


def _filter_words(query: DataQuery, filters: FigureFilters) -> list[str]:
    words: list[str] = []
    lens_noun = "lenses"
    if query.lens_type:
        lens_noun = f"{_choice_label(LensType, query.lens_type.value).lower()} lenses"
    what: list[str] = []
    if query.brand:
        what.append(filters.brand or query.brand)
    if query.product:
        what.append(f"“{query.product}”")
    if query.lens_index:
        what.append(f"{query.lens_index} index")
    if query.material:
        what.append(_choice_label(LensMaterial, query.material.value).split(" (")[0].lower().replace("cr-39", "CR-39"))
    if query.lens_type or query.lens_index or query.material or query.coating:
        what.append(lens_noun)
    elif query.category:
        what.append(CATEGORY_NOUNS[query.category])
    elif query.brand or query.product:
        what.append("products")
    if what:
        words.append(" ".join(what))
    if query.coating:
        words.append(COATING_WORDS.get(query.coating, f"with {_choice_label(Coating, query.coating.value).lower()}"))
    if query.supplier:
        words.append(f"supplied by {filters.supplier or query.supplier}")
    if query.staff and filters.staff_id is not None:
        words.append(f"{'seen' if query.metric == Metric.PATIENTS_SEEN else 'sold'} by {_staff_name(filters.staff_id)}")
    if query.payment_method:
        method = _choice_label(PaymentMethod, query.payment_method.value)
        words.append(
            f"paid (at least partly) by {method if method.isupper() or method.startswith('NHS') else method.lower()}"
        )
    if query.lab_status:
        words.append(LAB_STATUS_WORDS[query.lab_status])
    if query.recall_kind:
        words.append(_choice_label(RecallKind, query.recall_kind.value).lower())
    return words


def _scope(query: DataQuery, period: Period | None, filters: FigureFilters, today: date, source: str) -> str:
    parts: list[str] = []
    if period is not None:
        described = period.describe()
        parts.append(described[:1].upper() + described[1:])
    elif query.metric in STOCK_METRICS or query.metric in (Metric.LAB_JOBS, Metric.RECALLS_DUE, Metric.RECALLS_OVERDUE):
        parts.append(f"Now ({today.day} {today:%B %Y})")
    parts.extend(_filter_words(query, filters))
    if query.metric in SALES_METRICS:
        parts.append("payments taken on completed sales" if source == "payments" else "completed sales")
    if query.group_by is not None:
        parts.append(f"by {GROUP_NOUNS[query.group_by][0]}")
    return ", ".join(parts)


def _headline(query: DataQuery, figures: Figures, today: date, period: Period | None) -> str:
    metric = query.metric
    value, parts = figures.value, figures.parts
    if (
        metric in (Metric.UNITS, Metric.REVENUE, Metric.SALES)
        and query.payment_method is not None
        and "units" not in parts
    ):
        return f"{money(parts['revenue'])} taken across {parts['sales']:,} sales."
    if metric == Metric.REVENUE and "units" not in parts:
        return f"{money(parts['revenue'])} taken across {parts['sales']:,} sales."
    if metric == Metric.UNITS:
        return f"{parts['units']:,} units sold, {money(parts['revenue'])} revenue, across {parts['sales']:,} sales."
    if metric == Metric.REVENUE:
        return f"{money(parts['revenue'])} revenue from {parts['units']:,} units across {parts['sales']:,} sales."
    if metric == Metric.SALES:
        return f"{parts['sales']:,} sales ({money(parts['revenue'])} revenue, {parts.get('units', 0):,} units)."
    if metric == Metric.AVERAGE_SALE_VALUE:
        if value is None:
            return "no sales, so no average."
        return f"average sale value {money(value)} ({money(parts['revenue'])} over {parts['sales']:,} sales)."
    if metric == Metric.AVERAGE_UNITS_PER_SALE:
        if value is None:
            return "no sales, so no average."
        return f"{figure(metric, value)} units per sale on average ({parts['units']:,} units over {parts['sales']:,} sales)."
    if metric == Metric.MARGIN:
        percent = f", {parts['margin_percent']}% of" if parts.get("margin_percent") is not None else " on"
        return (
            f"margin {money(value)}{percent} {money(parts['net_revenue'])} revenue without VAT "
            f"(cost {money(parts['cost'])} at current cost prices)."
        )
    if metric == Metric.STOCK_ON_HAND:
        return f"{figure(metric, value)} units in stock."
    if metric == Metric.STOCK_VALUE:
        return f"{money(value)} of stock at cost."
    if metric == Metric.LAB_JOBS:
        if query.lab_status and period is not None:
            still = (
                ""
                if query.lab_status in (LabJobStatus.COLLECTED, LabJobStatus.CANCELLED)
                else f" (still {LAB_STATUS_WORDS[query.lab_status]} now)"
            )
            return f"{value:,} lab jobs {LAB_STATUS_EVENT[query.lab_status]} in the period{still}."
        if period is not None:
            return f"{value:,} lab jobs ordered."
        return f"{value:,} lab jobs."
    if metric == Metric.RECALLS_DUE:
        if period is not None:
            return f"{value:,} pending recalls due."
        due_by = today + timedelta(days=RECALL_DUE_WINDOW_DAYS)
        return f"{value:,} pending recalls due by {due_by.day} {due_by:%B %Y} (overdue ones included)."
    if metric == Metric.RECALLS_OVERDUE:
        return f"{value:,} pending recalls overdue as of {today.day} {today:%B %Y}."
    return f"{value:,} patients seen ({PATIENTS_SEEN_DEFINITION})."


def _row_text(query: DataQuery, row: dict[str, Any]) -> str:
    metric = query.metric
    shown = figure(metric, row["value"])
    if metric in (Metric.UNITS, Metric.REVENUE, Metric.SALES) and "sales" in row:
        pieces = [f"{money(row['revenue'])} revenue" if metric != Metric.REVENUE else ""]
        if "units" in row and metric != Metric.UNITS:
            pieces.append(f"{row['units']:,} units")
        if metric != Metric.SALES:
            pieces.append(f"{row['sales']:,} sales")
        extra = ", ".join(p for p in pieces if p)
        unit = {"units": " units", "sales": " sales"}.get(metric.value, "")
        return f"{row['label']}: {shown}{unit} ({extra})"
    if metric == Metric.MARGIN and row.get("margin_percent") is not None:
        return f"{row['label']}: {shown} ({row['margin_percent']}%)"
    return f"{row['label']}: {shown}"


def _ranked_text(query: DataQuery, figures: Figures, scope: str, ties: list[dict[str, Any]]) -> str:
    rows = figures.rows
    noun_one, noun_many = GROUP_NOUNS[query.group_by] if query.group_by else ("group", "groups")
    if query.group_by == GroupBy.PRODUCT and query.category:
        noun_one, noun_many = CATEGORY_NOUNS[query.category][:-1], CATEGORY_NOUNS[query.category]
        if query.category == Category.SPECTACLE_LENS:
            noun_one = "spectacle lens"
        if query.category == Category.ACCESSORY:
            noun_one = "accessory"
    measure = METRIC_WORDS[query.metric]
    word = "highest" if query.rank == Rank.TOP else "lowest"
    counted = {
        Metric.UNITS: "units sold",
        Metric.SALES: "sales",
        Metric.STOCK_ON_HAND: "units in stock",
        Metric.LAB_JOBS: "lab jobs",
        Metric.PATIENTS_SEEN: "patients seen",
    }
    superlative = (
        f"{'most' if query.rank == Rank.TOP else 'fewest'} {counted[query.metric]}"
        if query.metric in counted
        else f"{word} {measure}"
    )
    of_those = f" (of the {figures.groups} {noun_many} with figures)" if query.rank == Rank.BOTTOM else ""
    if not rows:
        return f"{scope}: nothing to rank, there are no figures."
    if query.limit == 1:
        tied = ties or rows[:1]
        lead = tied[0]
        if len(tied) > 1:
            names = ", ".join(row["label"] for row in tied[:-1]) + f" and {tied[-1]['label']}"
            return f"{scope}: {names} tie for the {superlative}{of_those}, {figure(query.metric, lead['value'])} each."
        return f"{scope}: the {noun_one} with the {superlative}{of_those} is {_row_text(query, lead)}."
    lines = [
        f"{scope}: {'top' if query.rank == Rank.TOP else 'bottom'} {len(rows)} {noun_many} by {measure}{of_those}:"
    ]
    lines += [f"{rank}. {_row_text(query, row)}" for rank, row in enumerate(rows, 1)]
    return "\n".join(lines)


def _compare_text(query: DataQuery, now: Any, before: Any, earlier: Period) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"period": earlier.as_dict(), "value": before}
    if before is None:
        return f"Compared with {earlier.words()}: no figure then.", data
    difference = Decimal(str(now or 0)) - Decimal(str(before))
    sign = "+" if difference > 0 else "−" if difference < 0 else "±"
    shown = (
        figure(query.metric, abs(difference))
        if query.metric != Metric.AVERAGE_UNITS_PER_SALE
        else f"{abs(difference):.2f}"
    )
    data["difference"] = difference
    text = f"Compared with {earlier.words()}: {figure(query.metric, before)} ({sign}{shown}"
    if before:
        change = (difference * 100 / Decimal(str(before))).quantize(Decimal("0.1"))
        data["change_percent"] = change
        text += f", {'+' if change > 0 else '−' if change < 0 else ''}{abs(change)}%"
    return text + ").", data


# --- the tool --------------------------------------------------------------------------------------------


def query_permissions(query: DataQuery) -> tuple[tuple[str, ...], str]:
    metric = query.metric
    if metric in COST_METRICS:
        needed = (REPORTS, COST) if metric == Metric.MARGIN else ("practice.view_product", COST)
        return needed, REFUSE_COST
    if metric in SALES_METRICS or metric == Metric.PATIENTS_SEEN:
        return (REPORTS,), REFUSE_REPORTS
    if metric == Metric.STOCK_ON_HAND:
        return ("practice.view_product",), "Sorry, you don't have permission to see stock levels."
    if metric == Metric.LAB_JOBS:
        return ("practice.view_labjob",), "Sorry, you don't have permission to see lab jobs."
    return ("practice.view_recall",), "Sorry, you don't have permission to see recalls."


def run_data_query(context: ToolContext, query: DataQuery) -> ToolResult:
    today = context.today
    period = _period(query, today)
    metric = query.metric
    if period is not None and metric not in (Metric.RECALLS_DUE, Metric.RECALLS_OVERDUE):
        if period.start > today:
            raise ToolError(f"period: {period.words()} is in the future; figures run to today.")
        if period.end > today:
            period = Period(period.start, today, period.label)
    if period is not None and period.start < date(1990, 1, 1):
        raise ToolError("period: that is before any records.")
    filters = _resolve_names(query)
    start, end = (period.start, period.end) if period else (None, None)
    if metric in SALES_METRICS and period is None:
        raise ToolError("period: sales figures need a period.")
    try:
        figures = report_figures(
            metric=metric.value,
            today=today,
            start=start,
            end=end,
            filters=filters,
            group_by=query.group_by.value if query.group_by else None,
            rank=query.rank.value if query.rank else None,
            limit=query.limit if query.rank or query.group_by not in TIME_GROUPS else None,
        )
        # "The best month" may be two months with the same figure: say so rather than pick one.
        ties: list[dict[str, Any]] = []
        if query.rank is not None and query.limit == 1 and figures.rows:
            everything = report_figures(
                metric=metric.value,
                today=today,
                start=start,
                end=end,
                filters=filters,
                group_by=query.group_by.value if query.group_by else None,
                rank=query.rank.value,
            )
            ties = [row for row in everything.rows if row["value"] == figures.rows[0]["value"]]
    except ReportQueryError as error:
        raise ToolError(f"query: {error}.") from None
    scope = _scope(query, period, filters, today, figures.source)
    data: dict[str, Any] = {
        "query": query.arguments(),
        "metric": metric.value,
        "scope": scope,
        "period": period.as_dict() if period else None,
        "source": figures.source,
    }
    if query.group_by is None:
        text = f"{scope}: {_headline(query, figures, today, period)}"
        data.update(value=figures.value, value_text=figure(metric, figures.value), **figures.parts)
        if query.compare is not None and period is not None:
            earlier = (
                previous_period(period) if query.compare == Compare.PREVIOUS_PERIOD else same_period_last_year(period)
            )
            before = report_figures(
                metric=metric.value, today=today, start=earlier.start, end=earlier.end, filters=filters
            ).value
            compare_text, data["compare"] = _compare_text(query, figures.value, before, earlier)
            text += "\n" + compare_text
            if metric in SALES_METRICS and figures.first_sale and earlier.start < figures.first_sale:
                text += f" (Sales records start on {figures.first_sale.day} {figures.first_sale:%B %Y}.)"
    else:
        data.update(rows=figures.rows, groups=figures.groups)
        if ties:
            data["ties"] = ties
        if query.rank is not None:
            text = _ranked_text(query, figures, scope, ties)
        elif not figures.rows:
            text = f"{scope}: no figures."
        else:
            shown = f" ({len(figures.rows)} of {figures.groups} shown)" if len(figures.rows) < figures.groups else ""
            lines = [f"{scope}{shown}:"] + [f"- {_row_text(query, row)}" for row in figures.rows]
            text = "\n".join(lines)
    if metric in SALES_METRICS and period is not None and figures.first_sale and period.start < figures.first_sale:
        text += f"\n(Sales records start on {figures.first_sale.day} {figures.first_sale:%B %Y}.)"
        data["records_start"] = figures.first_sale
    if metric == Metric.PATIENTS_SEEN and query.group_by is not None:
        text += f"\n(Patients seen: {PATIENTS_SEEN_DEFINITION}.)"
    return ToolResult(
        tool="data_query",
        arguments=query.arguments(),
        title=f"{METRIC_WORDS[metric][:1].upper()}{METRIC_WORDS[metric][1:]}: {scope}",
        text=text,
        data=plain(data),
    )


DATA_QUERY = register(
    Tool(
        name="data_query",
        description=(
            "Figures from the practice's own data: units, revenue, number of sales, average sale value, "
            "average units per sale, margin, stock on hand or its value, lab jobs, recalls due or overdue, "
            "patients seen; filtered by category, lens type, brand, supplier, product, material, index, "
            "coating, staff or payment method; grouped, ranked and compared over a period."
        ),
        arguments=DataQuery,
        permission=None,
        refusal=REFUSE_REPORTS,
        run=run_data_query,
        argument_permissions=query_permissions,
    )
)
