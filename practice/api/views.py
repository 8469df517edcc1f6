"""The practice REST API (/api/v1/). Views are thin: permissions, audit, then a service or a
selector. Every rule failure is a 400 naming the field and the rule (409 where the record's state
forbids it: a sale no longer a draft, stock not there), with nothing written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from optiq_site.service_errors import StateConflict
from practice import selectors, services
from practice.models import (
    AuditEvent,
    Category,
    ContactLensPrescription,
    LabJob,
    Patient,
    Product,
    Recall,
    Sale,
    SpectaclePrescription,
    StockMovement,
)
from practice.roles import RECEIVE_STOCK, REFUND_SALE, VIEW_AUDIT_EVENT, VIEW_REPORTS, VOID_SALE

from . import filters, serializers
from .permissions import RolePermission, has_perms


def _as_drf_error(exc: DjangoValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _only_uniqueness(detail: Any) -> bool:
    """Whether every error in a ValidationError's detail is a uniqueness rule ("product with this
    SKU already exists"): the request is well formed, another record holds the value."""
    if isinstance(detail, dict):
        return bool(detail) and all(_only_uniqueness(value) for value in detail.values())
    if isinstance(detail, list):
        return bool(detail) and all(_only_uniqueness(value) for value in detail)
    return getattr(detail, "code", None) == "unique"


class ServiceErrorsMixin:
    """Django ValidationErrors from models and services become 400s with their field names; a
    service's PermissionDenied({field: [rule]}) becomes a 403 that names the field and the rule.
    A StateConflict and a ProtectedError go on to the API's exception handler, which answers 409;
    so is a ValidationError that only says another record holds a unique value."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ValidationError) and _only_uniqueness(exc.detail):
            exc = Conflict(exc.detail)
        elif isinstance(exc, DjangoValidationError) and not isinstance(exc, StateConflict):
            exc = _as_drf_error(exc)
        elif isinstance(exc, DjangoPermissionDenied) and exc.args:
            exc = PermissionDenied(detail=exc.args[0])
        return super().handle_exception(exc)  # type: ignore[misc]


class JsonBodiesMixin:
    """Request bodies in JSON only (anything else is a 415): a form encoding can carry neither a
    null (most of these records have fields that may be left empty) nor a list of objects (a
    sale's lines), so it could not say what the schema allows."""

    parser_classes: Sequence[type[BaseParser]] = [JSONParser]


# Query parameters that page or order a list without choosing what is in it.
_PAGING_PARAMS = {"page", "ordering", "format"}


class PatientAuditViewSetMixin(JsonBodiesMixin, ServiceErrorsMixin):
    """Audit every read and change of patient records through the API: a record read names its
    patient, a list or search names the patients on the page it answered with."""

    audit_via = "api"

    def audit_patient(self, obj: Any) -> Patient | None:
        return obj if isinstance(obj, Patient) else getattr(obj, "patient", None)

    def shown_patient_ids(self, rows: list[dict[str, Any]]) -> list[int]:
        key = "id" if self.queryset.model is Patient else "patient"  # type: ignore[attr-defined]
        return [row[key] for row in rows if row.get(key) is not None]

    def audit(self, action: str, obj: Any = None, *, patient_ids: list[int] | None = None, **detail: Any) -> None:
        request = self.request  # type: ignore[attr-defined]
        services.audit_event_record(
            actor=request.user,
            action=action,
            patient=self.audit_patient(obj) if obj is not None else None,
            patient_ids=patient_ids or (),
            target=obj,
            ip=services.request_ip(request),
            detail={"via": self.audit_via, **detail},
        )

    def audit_list(self, rows: list[dict[str, Any]], patient_ids: list[int], **detail: Any) -> None:
        request = self.request  # type: ignore[attr-defined]
        searched = set(request.query_params) - _PAGING_PARAMS
        self.audit(
            "search" if searched else "list",
            patient_ids=patient_ids,
            model=self.queryset.model._meta.label,  # type: ignore[attr-defined]
            query=dict(request.query_params.items()),
            results=len(rows),
            **detail,
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()  # type: ignore[attr-defined]
        data = self.get_serializer(instance).data  # type: ignore[attr-defined]
        self.audit("view", instance)
        return Response(data)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        rows = response.data.get("results", response.data) if isinstance(response.data, dict) else response.data
        self.audit_list(rows, self.shown_patient_ids(rows))
        return response


# --- patients and prescriptions -------------------------------------------------------------


class PatientViewSet(PatientAuditViewSetMixin, viewsets.ModelViewSet):
    """Patients. ``q`` searches names, date of birth (ISO or dd/mm/yyyy) and phone numbers."""

    queryset = Patient.objects.all()
    serializer_class = serializers.PatientSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.PatientFilter
    search_fields = ["first_name", "last_name", "email", "phone_digits"]
    ordering_fields = ["last_name", "first_name", "date_of_birth", "created_at", "updated_at"]
    ordering = ["last_name", "first_name", "id"]

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.patient_create(**serializer.validated_data)
        self.audit("create", serializer.instance)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.patient_update(patient=serializer.instance, **serializer.validated_data)
        self.audit("change", serializer.instance, fields=sorted(serializer.validated_data))

    @transaction.atomic
    def perform_destroy(self, instance: Patient) -> None:
        self.audit("delete", instance)
        instance.delete()


class _PrescriptionViewSet(PatientAuditViewSetMixin, viewsets.ModelViewSet):
    permission_classes = [RolePermission]
    ordering_fields = ["issue_date", "expiry_date", "created_at"]
    ordering = ["-issue_date", "-id"]
    create_service: Any = None
    update_service: Any = None

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("patient")  # type: ignore[misc]

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = type(self).create_service(**data)
        self.audit("create", serializer.instance)

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        if "patient" in data and data["patient"] != serializer.instance.patient:
            raise StateConflict({"patient": ["A prescription cannot be moved to another patient."]})
        data.pop("patient", None)
        serializer.instance = type(self).update_service(prescription=serializer.instance, **data)
        self.audit("change", serializer.instance, fields=sorted(data))

    @transaction.atomic
    def perform_destroy(self, instance: Any) -> None:
        self.audit("delete", instance)
        instance.delete()


class SpectaclePrescriptionViewSet(_PrescriptionViewSet):
    """Spectacle prescriptions, stored in minus cylinder (plus cylinder is transposed on the way in)."""

    queryset = SpectaclePrescription.objects.all()
    serializer_class = serializers.SpectaclePrescriptionSerializer
    filterset_class = filters.PrescriptionFilter
    create_service = staticmethod(services.spectacle_prescription_create)
    update_service = staticmethod(services.spectacle_prescription_update)


class ContactLensPrescriptionViewSet(_PrescriptionViewSet):
    queryset = ContactLensPrescription.objects.all()
    serializer_class = serializers.ContactLensPrescriptionSerializer
    filterset_class = filters.ContactLensPrescriptionFilter
    create_service = staticmethod(services.contact_lens_prescription_create)
    update_service = staticmethod(services.contact_lens_prescription_update)


# --- inventory ------------------------------------------------------------------------------


class ProductViewSet(JsonBodiesMixin, ServiceErrorsMixin, viewsets.ModelViewSet):
    """Products. ``cost_price`` is present only for users with practice.view_cost_price."""

    queryset = Product.objects.all()
    serializer_class = serializers.ProductSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.ProductFilter
    search_fields = ["sku", "brand", "model", "colour"]
    ordering_fields = ["sku", "brand", "model", "price", "quantity_on_hand", "reorder_level", "created_at"]
    ordering = ["category", "brand", "model", "id"]
    action_permissions = {"low_stock": ["practice.view_product"]}

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.product_create(**serializer.validated_data)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.product_update(product=serializer.instance, **serializer.validated_data)

    @extend_schema(
        parameters=[OpenApiParameter("category", OpenApiTypes.STR, required=False, enum=Category.values)],
        responses=serializers.LowStockSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="low-stock", pagination_class=None, filterset_class=None)
    def low_stock(self, request: Request) -> Response:
        """Active products at or below their reorder level, with a suggested order quantity."""
        try:
            rows = selectors.low_stock_products(category=request.query_params.get("category") or None)
        except ValueError as exc:
            raise ValidationError({"category": [str(exc)]}) from exc
        rows = selectors.cost_visibility(user=request.user).rows(rows)
        return Response(serializers.LowStockSerializer(rows, many=True).data)


@extend_schema_view(create=extend_schema(request=serializers.StockMovementCreateSerializer))
class StockMovementViewSet(
    JsonBodiesMixin,
    ServiceErrorsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The stock ledger: read it, or record a receipt, adjustment or write-off (never edit)."""

    queryset = StockMovement.objects.select_related("product", "sale_line__sale", "created_by")
    serializer_class = serializers.StockMovementSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.StockMovementFilter
    ordering_fields = ["created_at", "quantity"]
    ordering = ["-created_at", "-id"]
    action_permissions = {"create": [RECEIVE_STOCK]}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = serializers.StockMovementCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        move = {
            "receipt": services.stock_receive,
            "adjustment": services.stock_adjust,
            "write_off": services.stock_write_off,
        }[data["kind"]]
        movement = move(
            product=data["product"], quantity=data["quantity"], user=request.user, note=data.get("note", "")
        )
        return Response(self.get_serializer(movement).data, status=status.HTTP_201_CREATED)


# --- sales ----------------------------------------------------------------------------------


class SaleViewSet(PatientAuditViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sales: create a draft, add lines and payments, complete (takes stock), refund, void.
    Refunds and voids need practice.refund_sale / practice.void_sale (managers); a price other
    than the product's or a discount above OPTIQ_DISCOUNT_LIMIT_PERCENT needs
    practice.override_sale_price / practice.give_large_discount."""

    queryset = Sale.objects.select_related("staff").prefetch_related("lines__product", "payments", "lab_jobs")
    serializer_class = serializers.SaleSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.SaleFilter
    search_fields = ["reference", "patient__first_name", "patient__last_name"]
    ordering_fields = ["created_at", "sale_date", "total"]
    ordering = ["-created_at", "-id"]
    action_permissions = {
        "create": ["practice.add_sale"],
        "add_line": ["practice.change_sale", "practice.add_saleline"],
        "remove_line": ["practice.change_sale", "practice.delete_saleline"],
        "add_payment": ["practice.add_payment"],
        "complete": ["practice.change_sale"],
        "refund": ["practice.change_sale", REFUND_SALE],
        "void": ["practice.change_sale", VOID_SALE],
    }

    def _reply(self, sale: Sale, code: int = status.HTTP_200_OK) -> Response:
        self.audit("create" if self.action == "create" else "change", sale, step=self.action)
        return Response(self.get_serializer(self.get_queryset().get(pk=sale.pk)).data, status=code)

    @extend_schema(request=serializers.SaleCreateSerializer, responses={201: serializers.SaleSerializer})
    def create(self, request: Request) -> Response:
        incoming = serializers.SaleCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        lines = [{k: v for k, v in line.items() if v is not None or k != "unit_price"} for line in data["lines"]]
        sale = services.sale_create(
            staff=request.user,
            patient=data.get("patient"),
            prescription=data.get("prescription"),
            notes=data.get("notes", ""),
            lines=lines,
            payments=data["payments"],
        )
        return self._reply(sale, status.HTTP_201_CREATED)

    @extend_schema(request=serializers.LineInputSerializer, responses={201: serializers.SaleSerializer})
    @action(detail=True, methods=["post"], url_path="lines")
    def add_line(self, request: Request, pk: str | None = None) -> Response:
        incoming = serializers.LineInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        sale = self.get_object()
        services.sale_line_add(sale=sale, user=request.user, **incoming.validated_data)
        return self._reply(sale, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.SaleSerializer)
    @action(detail=True, methods=["delete"], url_path=r"lines/(?P<line_id>\d+)")
    def remove_line(self, request: Request, pk: str | None = None, line_id: str | None = None) -> Response:
        sale = self.get_object()
        line = get_object_or_404(sale.lines.all(), pk=line_id)
        services.sale_line_remove(line=line)
        return self._reply(sale)

    @extend_schema(request=serializers.PaymentInputSerializer, responses={201: serializers.SaleSerializer})
    @action(detail=True, methods=["post"], url_path="payments")
    def add_payment(self, request: Request, pk: str | None = None) -> Response:
        incoming = serializers.PaymentInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        sale = self.get_object()
        services.sale_payment_add(sale=sale, user=request.user, **incoming.validated_data)
        return self._reply(sale, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.SaleSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        """Take the stock (all lines or nothing) and open lab jobs for spectacle lenses."""
        sale = services.sale_complete(sale=self.get_object(), user=request.user)
        return self._reply(sale)

    @extend_schema(request=serializers.SaleRefundSerializer, responses=serializers.SaleSerializer)
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str | None = None) -> Response:
        """Refund in full: stock comes back, payments are reversed, open lab jobs are cancelled."""
        incoming = serializers.SaleRefundSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        sale = services.sale_refund(sale=self.get_object(), user=request.user, reason=incoming.validated_data["reason"])
        return self._reply(sale)

    @extend_schema(request=None, responses=serializers.SaleSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request: Request, pk: str | None = None) -> Response:
        sale = services.sale_void(sale=self.get_object(), user=request.user)
        return self._reply(sale)


# --- lab jobs and recalls -------------------------------------------------------------------


class LabJobViewSet(PatientAuditViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Lab jobs open when a sale with spectacle lenses is completed; ``advance`` moves them on."""

    queryset = LabJob.objects.select_related("patient", "sale", "prescription")
    serializer_class = serializers.LabJobSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.LabJobFilter
    search_fields = ["reference", "sale__reference", "patient__last_name"]
    ordering_fields = ["ordered_at", "ready_at", "status"]
    ordering = ["-ordered_at", "-id"]
    action_permissions = {"advance": ["practice.change_labjob"], "ready": ["practice.view_labjob"]}

    @extend_schema(request=serializers.LabJobAdvanceSerializer, responses=serializers.LabJobSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str | None = None) -> Response:
        incoming = serializers.LabJobAdvanceSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        job = self.get_object()
        target = incoming.validated_data.get("status")
        note = incoming.validated_data.get("note", "")
        if target:
            job = services.lab_job_transition(job=job, status=target, note=note)
        else:
            job = services.lab_job_advance(job=job, note=note)
        self.audit("change", job, status=job.status)
        return Response(self.get_serializer(job).data)

    @extend_schema(responses=serializers.LabJobReadySerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def ready(self, request: Request) -> Response:
        """Glasses back from the lab and waiting for collection, longest waiting first."""
        rows = selectors.lab_jobs_ready_for_collection()
        self.audit_list(rows, [row["patient_id"] for row in rows], report="ready")
        return Response(serializers.LabJobReadySerializer(rows, many=True).data)


class RecallViewSet(PatientAuditViewSetMixin, viewsets.ModelViewSet):
    queryset = Recall.objects.select_related("patient")
    serializer_class = serializers.RecallSerializer
    permission_classes = [RolePermission]
    filterset_class = filters.RecallFilter
    search_fields = ["patient__first_name", "patient__last_name"]
    ordering_fields = ["due_date", "created_at"]
    ordering = ["due_date", "id"]
    action_permissions = {"due": ["practice.view_recall"]}

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.recall_schedule(
            patient=data["patient"], kind=data["kind"], due_date=data["due_date"], notes=data.get("notes", "")
        )
        self.audit("create", serializer.instance)

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        for fixed in ("patient", "kind"):
            if fixed in data and data[fixed] != getattr(serializer.instance, fixed):
                raise StateConflict({fixed: ["Cannot be changed; schedule a new recall instead."]})
            data.pop(fixed, None)
        serializer.instance = services.recall_update(recall=serializer.instance, **data)
        self.audit("change", serializer.instance, fields=sorted(data))

    @transaction.atomic
    def perform_destroy(self, instance: Recall) -> None:
        self.audit("delete", instance)
        instance.delete()

    @extend_schema(
        parameters=[
            OpenApiParameter("on", OpenApiTypes.DATE, required=False, description="Default: today"),
            OpenApiParameter("kind", OpenApiTypes.STR, required=False, enum=["eye_exam", "cl_aftercare"]),
            OpenApiParameter("overdue_only", OpenApiTypes.BOOL, required=False),
        ],
        responses=serializers.RecallDueSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def due(self, request: Request) -> Response:
        """Pending recalls due within 30 days of ``on`` (or only the overdue ones)."""
        params = _QueryParams(request, {"on": "date", "overdue_only": "bool"})
        try:
            rows = selectors.recalls_due(
                on=params.get("on") or timezone.localdate(),
                kind=request.query_params.get("kind") or None,
                overdue_only=bool(params.get("overdue_only")),
            )
        except ValueError as exc:
            raise ValidationError({"kind": [str(exc)]}) from exc
        self.audit_list(rows, [row["patient_id"] for row in rows], report="due")
        return Response(serializers.RecallDueSerializer(rows, many=True).data)


class _QueryParams:
    """Typed query parameters with 400s that name the parameter."""

    def __init__(self, request: Request, types: dict[str, str]) -> None:
        from rest_framework import serializers as s

        fields = {"date": s.DateField, "bool": s.BooleanField}
        serializer_class = type(
            "Query", (s.Serializer,), {name: fields[kind](required=False) for name, kind in types.items()}
        )
        incoming = serializer_class(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        self.data = incoming.validated_data

    def get(self, name: str) -> Any:
        return self.data.get(name)


# --- reports and audit ----------------------------------------------------------------------


class _ReportView(ServiceErrorsMixin, APIView):
    """A report for managers: the query string checked by one serializer, passed to a selector,
    and its rows written out by another."""

    permission_classes = [has_perms(VIEW_REPORTS)]
    query_serializer: type[drf_serializers.Serializer]
    row_serializer: type[drf_serializers.Serializer]
    report: Callable[..., list[dict]]

    def get(self, request: Request) -> Response:
        # A plain dict: from a QueryDict, DRF takes an empty value ("by=") for "not given".
        incoming = self.query_serializer(data=request.query_params.dict())
        incoming.is_valid(raise_exception=True)
        rows = type(self).report(**incoming.validated_data)
        return Response(self.row_serializer(rows, many=True).data)


@extend_schema_view(
    get=extend_schema(
        parameters=[serializers.SalesSummaryQuerySerializer], responses=serializers.SalesSummaryRowSerializer(many=True)
    )
)
class SalesSummaryView(_ReportView):
    """Units, revenue (VAT-inclusive, net of discounts) and sales from completed sales."""

    query_serializer = serializers.SalesSummaryQuerySerializer
    row_serializer = serializers.SalesSummaryRowSerializer
    report = staticmethod(selectors.sales_summary)


@extend_schema_view(
    get=extend_schema(
        parameters=[serializers.TopProductsQuerySerializer], responses=serializers.TopProductSerializer(many=True)
    )
)
class TopProductsView(_ReportView):
    """The best sellers by units or revenue (VAT-inclusive, net of discounts) from completed sales."""

    query_serializer = serializers.TopProductsQuerySerializer
    row_serializer = serializers.TopProductSerializer
    report = staticmethod(selectors.top_products)


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail (managers). Append-only: there is no way to change or delete an event.
    ``?patient=<id>`` is everything that touched one patient, the lists and searches that showed
    them included."""

    queryset = AuditEvent.objects.all()
    serializer_class = serializers.AuditEventSerializer
    permission_classes = [has_perms(VIEW_AUDIT_EVENT)]
    filterset_class = filters.AuditEventFilter
    search_fields = ["actor_username", "patient_name", "target_repr"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
