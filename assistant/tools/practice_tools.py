"""The read-only tools over the practice's data. Each calls a practice selector and composes
its figure sentences from the selector's result alone, so the answer quotes them verbatim."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from assistant.tools.periods import Period, parse_period
from assistant.tools.registry import Tool, ToolContext, ToolError, ToolResult, plain, register

CATEGORIES = ["frame", "spectacle_lens", "contact_lens", "accessory", "solution"]
LENS_TYPES = ["single_vision", "bifocal", "progressive", "occupational"]
CATEGORY_NOUNS = {
    "frame": "frames",
    "spectacle_lens": "spectacle lenses",
    "contact_lens": "contact lenses",
    "accessory": "accessories",
    "solution": "solutions",
}
LENS_TYPE_NOUNS = {
    "single_vision": "single vision lenses",
    "bifocal": "bifocal lenses",
    "progressive": "progressive lenses",
    "occupational": "occupational lenses",
}
COST_PERMISSION = "practice.view_cost_price"
PERIOD_PARAMETERS = {
    "period": {
        "type": "string",
        "description": 'The period in words: "last month", "in March", "this year", "Q2 2026", "since 1 May".',
    },
    "start": {"type": "string", "description": "First day (YYYY-MM-DD), instead of period."},
    "end": {"type": "string", "description": "Last day (YYYY-MM-DD), inclusive."},
}


def money(value: Any) -> str:
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    return f"£{amount:,}"


def _period(context: ToolContext, arguments: dict[str, Any], default: str = "this month") -> Period:
    from datetime import date

    if arguments.get("start"):
        try:
            start = date.fromisoformat(arguments["start"])
            end = date.fromisoformat(arguments.get("end") or context.today.isoformat())
        except ValueError:
            raise ToolError("start/end: dates must be written YYYY-MM-DD.") from None
        if end < start:
            raise ToolError("end: must not be before start.")
        return Period(start, end, f"{start:%-d %B %Y} to {end:%-d %B %Y}")
    period = parse_period(arguments.get("period") or default, today=context.today)
    if period is None:
        raise ToolError(f"period: could not understand {arguments.get('period')!r}.")
    return period


def _audit(
    context: ToolContext, *, action: str, patient: Any = None, target: Any = None, detail: dict | None = None
) -> None:
    from practice.services import audit_event_record

    audit_event_record(
        actor=context.user,
        action=action,
        patient=patient,
        target=target,
        ip=context.ip,
        detail={"via": "assistant", "thread": context.thread_id, **(detail or {})},
    )


def _what(category: str | None, lens_type: str | None, product: Any = None) -> str:
    if product is not None:
        return f"units of {product.brand} {product.model} ({product.sku})"
    if lens_type:
        return LENS_TYPE_NOUNS[lens_type]
    if category:
        return CATEGORY_NOUNS[category]
    return "items"


def _product_by_sku(sku: str) -> Any:
    from practice.models import Product

    product = Product.objects.filter(sku__iexact=sku).first()
    if product is None:
        raise ToolError(f"sku: no product with SKU {sku}.")
    return product


# --- sales --------------------------------------------------------------------------------------


def run_sales_summary(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import sales_summary

    period = _period(context, arguments)
    category = arguments.get("category")
    lens_type = arguments.get("lens_type")
    product = _product_by_sku(arguments["sku"]) if arguments.get("sku") else None
    if lens_type and not category:
        category = "spectacle_lens"
    result = plain(
        sales_summary(
            start=period.start,
            end=period.end,
            category=category,
            lens_type=lens_type,
            product_id=product.pk if product else None,
        )
    )[0]
    units = int(result["units"])
    revenue = money(result["revenue"])
    sales = result.get("sales")
    what = _what(category, lens_type, product)
    text = f"We sold {units} {what} {period.describe()}, for {revenue}"
    text += f" across {sales} sales." if sales is not None else "."
    return ToolResult(
        tool="sales_summary",
        arguments={**arguments, "category": category, "start": period.start.isoformat(), "end": period.end.isoformat()},
        title=f"Sales of {what}, {period.label}",
        text=text,
        data={"period": period.as_dict(), **result, "units": units, "revenue": str(result["revenue"])},
    )


def run_top_sellers(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import top_products

    period = _period(context, arguments)
    category = arguments.get("category")
    limit = arguments.get("limit", 5)
    by = arguments.get("by", "units")
    rows = plain(top_products(start=period.start, end=period.end, category=category, limit=limit, by=by))
    what = CATEGORY_NOUNS[category] if category else "products"
    if not rows:
        text = f"No {what} were sold {period.describe()}."
    else:
        lines = [f"Top {len(rows)} {what} by {'revenue' if by == 'revenue' else 'units sold'} {period.describe()}:"]
        for rank, row in enumerate(rows, 1):
            lines.append(
                f"{rank}. {row['brand']} {row['model']} ({row['sku']}): {row['units']} sold, {money(row['revenue'])}"
            )
        text = "\n".join(lines)
    return ToolResult(
        tool="top_sellers",
        arguments={**arguments, "start": period.start.isoformat(), "end": period.end.isoformat()},
        title=f"Top {what}, {period.label}",
        text=text,
        data={"period": period.as_dict(), "rows": rows},
    )


# --- stock and products -------------------------------------------------------------------------


def run_low_stock(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import cost_visibility, low_stock_products

    category = arguments.get("category")
    rows = cost_visibility(user=context.user).rows(plain(low_stock_products(category=category)))
    what = CATEGORY_NOUNS[category] if category else "products"
    if not rows:
        text = f"No {what} are at or below their reorder level."
    else:
        lines = [f"{len(rows)} {what} are at or below their reorder level:"]
        for row in rows:
            line = f"- {row['brand']} {row['model']} ({row['sku']}): {row['quantity']} in stock, reorder level {row['reorder_level']}"
            if row.get("suggested_order_quantity"):
                line += f", suggested order {row['suggested_order_quantity']}"
            lines.append(line)
        text = "\n".join(lines)
    return ToolResult(
        tool="low_stock",
        arguments=arguments,
        title=f"Low stock: {what}",
        text=text,
        data={"rows": rows},
        extra_sources=[_product_source(row) for row in rows[:10]],
    )


def _product_source(row: dict[str, Any]) -> dict[str, Any]:
    stock = row.get("quantity_on_hand", row.get("quantity"))
    snippet = f"{stock} in stock" + (f", price {money(row['price'])}" if row.get("price") is not None else "")
    return {
        "kind": "product",
        "id": row.get("product_id", row.get("id")),
        "title": f"{row.get('brand', '')} {row.get('model', '')} ({row.get('sku', '')})".strip(),
        "snippet": snippet,
        "score": 1.0,
    }


def _product_rows(query: str) -> list[dict[str, Any]]:
    from practice.selectors import product_search

    keep = (
        "id",
        "sku",
        "brand",
        "model",
        "colour",
        "category",
        "lens_type",
        "price",
        "cost_price",
        "quantity_on_hand",
        "is_active",
    )
    return [{k: v for k, v in plain(p).items() if k in keep} for p in product_search(query=query, limit=10)]


def run_product_lookup(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import cost_visibility

    query = arguments["query"]
    rows = cost_visibility(user=context.user).rows(_product_rows(query))
    if not rows:
        text = f"No product matches “{query}”."
    else:
        lines = [f"{len(rows)} product{'s' if len(rows) != 1 else ''} match “{query}”:"]
        for row in rows:
            lines.append(
                f"- {row['brand']} {row['model']} ({row['sku']}): price {money(row['price'])}, {row['quantity_on_hand']} in stock"
            )
        text = "\n".join(lines)
    return ToolResult(
        tool="product_lookup",
        arguments=arguments,
        title=f"Products matching “{query}”",
        text=text,
        data={"rows": rows},
        extra_sources=[_product_source(row) for row in rows],
    )


def run_product_cost(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    query = arguments["query"]
    rows = _product_rows(query)
    if not rows:
        text = f"No product matches “{query}”."
    else:
        lines = [f"Cost prices for products matching “{query}”:"]
        for row in rows:
            lines.append(
                f"- {row['brand']} {row['model']} ({row['sku']}): cost {money(row['cost_price'])}, price {money(row['price'])}"
            )
        text = "\n".join(lines)
    return ToolResult(
        tool="product_cost", arguments=arguments, title=f"Cost prices: “{query}”", text=text, data={"rows": rows}
    )


# --- patients -----------------------------------------------------------------------------------


def _patients(context: ToolContext, query: str) -> list[Any]:
    from practice.selectors import patient_search

    return list(patient_search(query=query, limit=5))


def _patient(patient_id: int) -> Any:
    from practice.models import Patient

    return Patient.objects.get(pk=patient_id)


def run_patient_lookup(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    query = arguments["query"]
    patients = _patients(context, query)
    for patient in patients:
        _audit(context, action="assistant_lookup", patient=patient, target=patient, detail={"tool": "patient_lookup"})
    if not patients:
        text = f"No patient matches “{query}”."
    else:
        lines = [f"{len(patients)} patient{'s' if len(patients) != 1 else ''} match “{query}”:"]
        lines += [f"- {p.full_name}, born {p.date_of_birth:%-d %B %Y}" for p in patients]
        text = "\n".join(lines)
    return ToolResult(
        tool="patient_lookup",
        arguments=arguments,
        title=f"Patients matching “{query}”",
        text=text,
        data={
            "rows": [{"id": p.pk, "name": p.full_name, "date_of_birth": p.date_of_birth.isoformat()} for p in patients]
        },
        touched_patient_data=True,
        extra_sources=[
            {
                "kind": "patient",
                "id": p.pk,
                "title": p.full_name,
                "snippet": f"born {p.date_of_birth:%-d %B %Y}",
                "score": 1.0,
            }
            for p in patients
        ],
    )


def run_latest_prescription(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import patient_latest_prescription

    query = arguments["patient"]
    patients = _patients(context, query)
    if not patients:
        return ToolResult(
            tool="latest_prescription",
            arguments=arguments,
            title="Latest prescription",
            text=f"No patient matches “{query}”.",
            data={"rows": []},
            touched_patient_data=True,
        )
    if len(patients) > 1:
        names = "; ".join(f"{p.full_name} (born {p.date_of_birth:%-d %B %Y})" for p in patients)
        for patient in patients:
            _audit(
                context,
                action="assistant_lookup",
                patient=patient,
                target=patient,
                detail={"tool": "latest_prescription"},
            )
        return ToolResult(
            tool="latest_prescription",
            arguments=arguments,
            title="Latest prescription",
            text=f"{len(patients)} patients match “{query}”: {names}. Which one do you mean?",
            data={"rows": [{"id": p.pk, "name": p.full_name} for p in patients]},
            touched_patient_data=True,
        )
    patient = patients[0]
    prescription = patient_latest_prescription(patient=patient)
    _audit(
        context,
        action="assistant_lookup",
        patient=patient,
        target=prescription or patient,
        detail={"tool": "latest_prescription"},
    )
    if prescription is None:
        text = f"{patient.full_name} has no spectacle prescription on record."
        data: dict[str, Any] = {"patient_id": patient.pk, "prescription": None}
    else:
        issued = getattr(prescription, "issue_date", None)
        when = f" (issued {issued:%-d %B %Y})" if issued else ""
        text = f"Latest prescription for {patient.full_name}{when}:\n{prescription.render()}"
        data = {"patient_id": patient.pk, "prescription_id": prescription.pk, "rendered": prescription.render()}
    return ToolResult(
        tool="latest_prescription",
        arguments=arguments,
        title=f"Latest prescription: {patient.full_name}",
        text=text,
        data=data,
        touched_patient_data=True,
        extra_sources=[
            {"kind": "patient", "id": patient.pk, "title": patient.full_name, "snippet": text[:200], "score": 1.0}
        ],
    )


def run_recalls_due(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import recalls_due

    kind = arguments.get("kind")
    overdue_only = bool(arguments.get("overdue_only"))
    recalls = recalls_due(on=context.today, kind=kind, overdue_only=overdue_only)
    for recall in recalls:
        _audit(
            context, action="assistant_lookup", patient=_patient(recall["patient_id"]), detail={"tool": "recalls_due"}
        )
    label = "overdue" if overdue_only else "due within 30 days"
    if not recalls:
        text = f"No recalls are {label} as of {context.today:%-d %B %Y}."
    else:
        lines = [
            f"{len(recalls)} recall{'s are' if len(recalls) != 1 else ' is'} {label} as of {context.today:%-d %B %Y}:"
        ]
        lines += [f"- {r['patient_name']}: {r['kind_label']}, due {r['due_date']:%-d %B %Y}" for r in recalls[:50]]
        text = "\n".join(lines)
    return ToolResult(
        tool="recalls_due",
        arguments=arguments,
        title=f"Recalls {label}",
        text=text,
        data={
            "count": len(recalls),
            "rows": [
                {k: plain(r[k]) for k in ("recall_id", "patient_id", "kind", "due_date", "overdue")} for r in recalls
            ],
        },
        touched_patient_data=bool(recalls),
    )


def run_lab_jobs_ready(context: ToolContext, arguments: dict[str, Any]) -> ToolResult:
    from practice.selectors import lab_jobs_ready_for_collection

    jobs = lab_jobs_ready_for_collection()
    for job in jobs:
        _audit(
            context, action="assistant_lookup", patient=_patient(job["patient_id"]), detail={"tool": "lab_jobs_ready"}
        )
    if not jobs:
        text = "No lab jobs are ready for collection."
    else:
        lines = [f"{len(jobs)} lab job{'s are' if len(jobs) != 1 else ' is'} ready for collection:"]
        lines += [
            f"- {job['reference']} for {job['patient_name']}"
            + (f", ready since {job['ready_at']:%-d %B %Y}" if job["ready_at"] else "")
            for job in jobs
        ]
        text = "\n".join(lines)
    return ToolResult(
        tool="lab_jobs_ready",
        arguments=arguments,
        title="Lab jobs ready for collection",
        text=text,
        data={
            "count": len(jobs),
            "rows": [{k: plain(j[k]) for k in ("lab_job_id", "reference", "patient_id", "days_waiting")} for j in jobs],
        },
        touched_patient_data=bool(jobs),
    )


CATEGORY_PARAMETER = {"type": "string", "enum": CATEGORIES, "description": "Product category."}

register(
    Tool(
        name="sales_summary",
        description="Sales totals: how many units were sold and the revenue taken in a period, optionally for a category, a lens type or one product.",
        parameters={
            "type": "object",
            "properties": {
                **PERIOD_PARAMETERS,
                "category": CATEGORY_PARAMETER,
                "lens_type": {"type": "string", "enum": LENS_TYPES, "description": "Spectacle lens type."},
                "sku": {"type": "string", "description": "One product's SKU."},
            },
        },
        permission="practice.view_reports",
        refusal="Sorry, you don't have permission to see sales reports.",
        run=run_sales_summary,
    )
)
register(
    Tool(
        name="top_sellers",
        description="The best-selling products in a period, ranked by units sold or by revenue.",
        parameters={
            "type": "object",
            "properties": {
                **PERIOD_PARAMETERS,
                "category": CATEGORY_PARAMETER,
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
                "by": {"type": "string", "enum": ["units", "revenue"]},
            },
        },
        permission="practice.view_reports",
        refusal="Sorry, you don't have permission to see sales reports.",
        run=run_top_sellers,
    )
)
register(
    Tool(
        name="low_stock",
        description="Products low on stock (at or below their reorder level) with reorder suggestions.",
        parameters={"type": "object", "properties": {"category": CATEGORY_PARAMETER}},
        permission="practice.view_product",
        refusal="Sorry, you don't have permission to see stock levels.",
        run=run_low_stock,
    )
)
register(
    Tool(
        name="product_lookup",
        description="Find products in the catalogue by SKU, brand, model or description: price and stock on hand.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        permission="practice.view_product",
        refusal="Sorry, you don't have permission to see the product catalogue.",
        run=run_product_lookup,
    )
)
register(
    Tool(
        name="product_cost",
        description="Cost prices and margins of products found by SKU, brand or description.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        permission="practice.view_product",
        extra_permissions=(COST_PERMISSION,),
        refusal="Sorry, you don't have permission to see cost prices.",
        run=run_product_cost,
    )
)
register(
    Tool(
        name="patient_lookup",
        description="Find a patient by name, date of birth or phone number.",
        parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        permission="practice.view_patient",
        refusal="Sorry, you don't have permission to see patient records.",
        run=run_patient_lookup,
        touches_patient_data=True,
    )
)
register(
    Tool(
        name="latest_prescription",
        description="A patient's latest spectacle prescription.",
        parameters={
            "type": "object",
            "properties": {"patient": {"type": "string", "description": "The patient's name."}},
            "required": ["patient"],
        },
        permission="practice.view_patient",
        extra_permissions=("practice.view_spectacleprescription",),
        refusal="Sorry, you don't have permission to see prescriptions.",
        run=run_latest_prescription,
        touches_patient_data=True,
    )
)
register(
    Tool(
        name="recalls_due",
        description="Patients due or overdue for an eye examination or contact lens aftercare recall.",
        parameters={
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["eye_exam", "cl_aftercare"]},
                "overdue_only": {"type": "boolean"},
            },
        },
        permission="practice.view_recall",
        refusal="Sorry, you don't have permission to see recalls.",
        run=run_recalls_due,
        touches_patient_data=True,
    )
)
register(
    Tool(
        name="lab_jobs_ready",
        description="Lab jobs (glasses back from the lab) ready for the patient to collect.",
        parameters={"type": "object", "properties": {}},
        permission="practice.view_labjob",
        refusal="Sorry, you don't have permission to see lab jobs.",
        run=run_lab_jobs_ready,
        touches_patient_data=True,
    )
)
