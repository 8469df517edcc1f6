"""Reads of the practice's data, for the admin, the API and the assistant's tools.

Report figures come only from COMPLETED sales (a refunded or voided sale does not count) and
read the SalesDaySummary rollup, so they cost the same at a thousand or a million sale lines.
Money is Decimal in pounds. ``revenue`` is what customers paid: net of line discounts and
VAT-INCLUSIVE (UK retail prices include VAT). Days are the practice's local days
(settings.TIME_ZONE); ``end`` is inclusive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from practice.models import (
    AuditEvent,
    Category,
    LabJob,
    LabJobStatus,
    LensType,
    Patient,
    Product,
    Recall,
    RecallKind,
    RecallStatus,
    SalesDaySummary,
    SpectaclePrescription,
)
from practice.roles import VIEW_COST_PRICE

ZERO = Decimal("0.00")
GROUPS = (None, "month", "category", "lens_type", "product")
# A pending recall shows as due this many days before its date.
RECALL_DUE_WINDOW_DAYS = 30


def _check_choice(name: str, value: str | None, allowed: Any) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}; one of {', '.join(str(a) for a in allowed)}.")


def _months(start: date, end: date) -> list[str]:
    months, cursor = [], start.replace(day=1)
    while cursor <= end:
        months.append(f"{cursor:%Y-%m}")
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


def _summary_rows(
    start: date, end: date, category: str | None, lens_type: str | None, product_id: int | None
) -> QuerySet[SalesDaySummary]:
    rows = SalesDaySummary.objects.filter(day__gte=start, day__lte=end)
    if category:
        rows = rows.filter(category=category)
    if lens_type:
        rows = rows.filter(lens_type=lens_type)
    if product_id is not None:
        rows = rows.filter(product_id=product_id)
    return rows


def _sales_counter(*, group_by: str | None, category: str | None, lens_type: str | None, product_id: int | None) -> str:
    """The rollup counter that counts each sale once at the finest level the query looks at."""
    if product_id is not None or group_by == "product":
        return "sales_product"
    if lens_type or group_by == "lens_type":
        return "sales_lens_type"
    if category or group_by == "category":
        return "sales_category"
    return "sales_any"


def sales_summary(
    *,
    start: date,
    end: date,
    category: str | None = None,
    lens_type: str | None = None,
    product_id: int | None = None,
    group_by: str | None = None,
) -> list[dict]:
    """Units, revenue and number of distinct sales between ``start`` and ``end`` (inclusive).

    group_by: None (one row with start/end), "month" (every month in the range, "YYYY-MM",
    zeros included, in order), "category", "lens_type" (spectacle lenses only) or "product"
    (both by revenue, highest first). Each row: the group key(s), ``units`` (int), ``revenue``
    (Decimal, VAT-inclusive, net of discounts), ``sales`` (int)."""
    _check_choice("group_by", group_by, GROUPS)
    _check_choice("category", category, Category.values)
    _check_choice("lens_type", lens_type, LensType.values)
    rows = _summary_rows(start, end, category, lens_type, product_id)
    counter = _sales_counter(group_by=group_by, category=category, lens_type=lens_type, product_id=product_id)
    totals = {"units": Sum("units"), "revenue": Sum("revenue"), "sales": Sum(counter)}

    def figures(row: Any) -> dict:
        return {"units": int(row["units"] or 0), "revenue": row["revenue"] or ZERO, "sales": int(row["sales"] or 0)}

    if group_by is None:
        return [{"start": start, "end": end, **figures(rows.aggregate(**totals))}]
    if group_by == "month":
        found = {
            f"{row['month']:%Y-%m}": figures(row)
            for row in rows.annotate(month=TruncMonth("day")).values("month").annotate(**totals)
        }
        return [{"month": m, **found.get(m, {"units": 0, "revenue": ZERO, "sales": 0})} for m in _months(start, end)]
    if group_by == "category":
        labels = dict(Category.choices)
        result = [
            {
                "category": row["category"],
                "category_label": str(labels.get(row["category"], row["category"])),
                **figures(row),
            }
            for row in rows.values("category").annotate(**totals)
        ]
    elif group_by == "lens_type":
        labels = dict(LensType.choices)
        result = [
            {
                "lens_type": row["lens_type"],
                "lens_type_label": str(labels.get(row["lens_type"], row["lens_type"])),
                **figures(row),
            }
            for row in rows.exclude(lens_type="").values("lens_type").annotate(**totals)
        ]
    else:
        result = [
            {
                "product_id": row["product_id"],
                "sku": row["product__sku"],
                "brand": row["product__brand"],
                "model": row["product__model"],
                "category": row["product__category"],
                **figures(row),
            }
            for row in rows.values(
                "product_id", "product__sku", "product__brand", "product__model", "product__category"
            ).annotate(**totals)
        ]
    result.sort(key=lambda row: (-row["revenue"], -row["units"]))
    return result


def top_products(
    *, start: date, end: date, category: str | None = None, limit: int = 10, by: str = "units"
) -> list[dict]:
    """The best sellers between ``start`` and ``end`` by "units" or "revenue" (ties: the other figure)."""
    _check_choice("by", by, ("units", "revenue"))
    _check_choice("category", category, Category.values)
    grouped = (
        _summary_rows(start, end, category, None, None)
        .values("product_id")
        .annotate(units=Sum("units"), revenue=Sum("revenue"), sales=Sum("sales_product"))
        .filter(units__gt=0)
        .order_by(*(["-units", "-revenue"] if by == "units" else ["-revenue", "-units"]), "product_id")[: max(limit, 0)]
    )
    rows: list[dict[str, Any]] = [dict(row) for row in grouped]
    products = Product.objects.in_bulk([row["product_id"] for row in rows])
    return [
        {
            "product_id": row["product_id"],
            "sku": products[row["product_id"]].sku,
            "brand": products[row["product_id"]].brand,
            "model": products[row["product_id"]].model,
            "category": products[row["product_id"]].category,
            "units": int(row["units"]),
            "revenue": row["revenue"],
            "sales": int(row["sales"]),
        }
        for row in rows
    ]


@dataclass(frozen=True)
class CostVisibility:
    """What one user may see of cost prices and margins: everything with practice.view_cost_price
    (managers), nothing of them otherwise. A field counts as a cost figure when its name speaks
    of cost or margin, so a figure added to a row later is hidden until someone decides otherwise."""

    visible: bool

    @staticmethod
    def is_cost_field(name: str) -> bool:
        return "cost" in name or "margin" in name

    def fields(self, names: Iterable[Any]) -> list[Any]:
        """Field or column names (an admin fieldset's tuples of names included) the user may see."""
        if self.visible:
            return list(names)
        kept: list[Any] = []
        for name in names:
            if isinstance(name, (list, tuple)):
                group = [n for n in name if not (isinstance(n, str) and self.is_cost_field(n))]
                if group:
                    kept.append(type(name)(group))
            elif not (isinstance(name, str) and self.is_cost_field(name)):
                kept.append(name)
        return kept

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if self.visible:
            return dict(row)
        return {key: value for key, value in row.items() if not self.is_cost_field(key)}

    def rows(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.row(row) for row in rows]


def cost_visibility(*, user: Any) -> CostVisibility:
    """The one place that decides whether ``user`` sees cost prices and margins."""
    return CostVisibility(visible=bool(user is not None and user.has_perm(VIEW_COST_PRICE)))


def suggested_order_quantity(*, quantity: int, reorder_level: int) -> int:
    """Order enough to bring stock back to twice the reorder level, and at least one."""
    return max(2 * reorder_level - quantity, 1)


def low_stock_products(*, category: str | None = None) -> list[dict]:
    """Active products whose quantity on hand is at or below their reorder level, emptiest first.
    Includes ``cost_price``: callers pass the rows through ``cost_visibility(user=...).rows``."""
    _check_choice("category", category, Category.values)
    products = Product.objects.filter(is_active=True, quantity_on_hand__lte=F("reorder_level"))
    if category:
        products = products.filter(category=category)
    return [
        {
            "product_id": p.pk,
            "sku": p.sku,
            "brand": p.brand,
            "model": p.model,
            "category": p.category,
            "quantity": p.quantity_on_hand,
            "reorder_level": p.reorder_level,
            "suggested_order_quantity": suggested_order_quantity(
                quantity=p.quantity_on_hand, reorder_level=p.reorder_level
            ),
            "supplier": p.supplier,
            "cost_price": p.cost_price,
        }
        for p in products.order_by("quantity_on_hand", "category", "sku")
    ]


def product_search(*, query: str, limit: int = 10) -> list[Product]:
    """An exact SKU first (any case), then products whose brand, model, colour or SKU contain
    every word of the query; active products before inactive ones."""
    query = (query or "").strip()
    if not query:
        return []
    exact = list(Product.objects.filter(sku__iexact=query)[:1])
    matches = Product.objects.exclude(pk__in=[p.pk for p in exact])
    for term in query.split():
        matches = matches.filter(
            Q(brand__icontains=term) | Q(model__icontains=term) | Q(colour__icontains=term) | Q(sku__icontains=term)
        )
    rest = list(matches.order_by("-is_active", "brand", "model", "sku")[: max(limit - len(exact), 0)])
    return (exact + rest)[:limit]


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def _parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def patient_search(*, query: str, limit: int = 10) -> list[Patient]:
    """Patients matching every part of ``query``: names (any part of first or last name), a date
    of birth (2024-03-01 or 01/03/2024) or a phone number (6+ digits; spaces and +44 ignored)."""
    patients = Patient.objects.all()
    terms = (query or "").replace(",", " ").split()
    if not terms:
        return []
    # A phone number written with spaces ("07700 900123") arrives as several digit terms.
    phone_parts: list[str] = []
    name_terms: list[str] = []
    for term in terms:
        day = _parse_date(term)
        if day is not None:
            patients = patients.filter(date_of_birth=day)
        elif re.fullmatch(r"\+?[\d()-]+", term):
            phone_parts.append(term)
        else:
            name_terms.append(term)
    digits = re.sub(r"\D", "", "".join(phone_parts))
    if digits:
        if len(digits) < 6:
            return []
        national = "0" + digits[2:] if digits.startswith("44") else digits
        patients = patients.filter(Q(phone_digits__contains=digits) | Q(phone_digits__contains=national))
    for term in name_terms:
        patients = patients.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term))
    return list(patients.order_by("last_name", "first_name", "date_of_birth", "id")[:limit])


def patient_latest_prescription(*, patient: Patient) -> SpectaclePrescription | None:
    """The most recently issued spectacle prescription (``.render()`` writes it out)."""
    return patient.spectacle_prescriptions.order_by("-issue_date", "-id").first()


def recalls_due(*, on: date, kind: str | None = None, overdue_only: bool = False) -> list[dict]:
    """Pending recalls due by ``on`` + 30 days (RECALL_DUE_WINDOW_DAYS), or only those already
    overdue (due before ``on``), earliest first. ``days_overdue`` is negative while still ahead."""
    _check_choice("kind", kind, RecallKind.values)
    recalls = Recall.objects.filter(status=RecallStatus.PENDING).select_related("patient")
    recalls = (
        recalls.filter(due_date__lt=on)
        if overdue_only
        else recalls.filter(due_date__lte=on + timedelta(days=RECALL_DUE_WINDOW_DAYS))
    )
    if kind:
        recalls = recalls.filter(kind=kind)
    labels = dict(RecallKind.choices)
    return [
        {
            "recall_id": r.pk,
            "patient_id": r.patient_id,
            "patient_name": r.patient.full_name,
            "phone": r.patient.phone,
            "email": r.patient.email,
            "consent_marketing": r.patient.consent_marketing,
            "kind": r.kind,
            "kind_label": str(labels[r.kind]),
            "due_date": r.due_date,
            "days_overdue": (on - r.due_date).days,
            "overdue": r.due_date < on,
        }
        for r in recalls.order_by("due_date", "id")
    ]


def lab_jobs_ready_for_collection() -> list[dict]:
    """Glasses back from the lab waiting for their patient, longest waiting first."""
    today = timezone.localdate()
    jobs = (
        LabJob.objects.filter(status=LabJobStatus.READY)
        .select_related("patient", "sale", "frame", "lens")
        .order_by("ready_at", "id")
    )
    return [
        {
            "lab_job_id": job.pk,
            "reference": job.reference,
            "patient_id": job.patient_id,
            "patient_name": job.patient.full_name,
            "phone": job.patient.phone,
            "ready_at": job.ready_at,
            "days_waiting": (today - timezone.localdate(job.ready_at)).days if job.ready_at else 0,
            "sale_reference": job.sale.reference,
            "balance_due": job.sale.balance_due,
            "frame": str(job.frame) if job.frame else "",
            "lens": str(job.lens),
        }
        for job in jobs
    ]


def lab_jobs_ready_count() -> int:
    """How many pairs of glasses are waiting for collection (no patient named)."""
    return LabJob.objects.filter(status=LabJobStatus.READY).count()


def stock_ledger_total(*, product: Product) -> int:
    """The quantity the ledger adds up to (equal to ``product.quantity_on_hand``)."""
    return int(product.stock_movements.aggregate(total=Sum("quantity"))["total"] or 0)


def audit_events_for_patient(*, patient_id: int) -> QuerySet[AuditEvent]:
    """Every audit event that touched one patient: reads and changes of their record, and the
    lists, searches, exports and lookups that showed them among others, newest first."""
    return AuditEvent.objects.filter(Q(patient_id=patient_id) | Q(patient_ids__contains=[patient_id]))


def audit_events_for_patients(*, patient_ids: Iterable[int]) -> QuerySet[AuditEvent]:
    """Every audit event that touched any of ``patient_ids`` (for a search by a patient's name)."""
    ids = list(patient_ids)
    return AuditEvent.objects.filter(Q(patient_id__in=ids) | Q(patient_ids__overlap=ids))
