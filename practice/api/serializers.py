"""Explicit input and output shapes. Serializers check types and shapes; the rules (optics,
stock, sale states) live in the models' clean() and the services, which the views call."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from optiq_site.api_schema import SchemaRules
from practice.models import (
    AuditEvent,
    Category,
    Coating,
    ContactLensPrescription,
    LabJob,
    LabJobStatus,
    LensType,
    MovementKind,
    Patient,
    Payment,
    PaymentMethod,
    Product,
    Recall,
    RecallKind,
    Sale,
    SaleLine,
    SpectaclePrescription,
    StockMovement,
)
from practice.models.inventory import LENS_INDEX_CHOICES, LENS_INDEXES
from practice.selectors import cost_visibility
from practice.services.catalogue import PRODUCT_FIELDS
from practice.services.stock import MAX_STOCK

# A patient (or prescription) is given by id: as a choice, the browsable API's forms would list
# every patient's name and date of birth to whoever opens them.
BY_ID: dict[str, Any] = {"style": {"base_template": "input.html"}}

QUANTITY_ERRORS: dict[str, Any] = {
    "min_value": "Quantity must be at least 1.",
    "invalid": "Quantity must be a whole number.",
}


class PatientSerializer(serializers.ModelSerializer):
    class Meta:
        model = Patient
        fields = [
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "address",
            "postcode",
            "notes",
            "consent_marketing",
            "consent_data_sharing",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class SpectaclePrescriptionSerializer(serializers.ModelSerializer):
    rendered = serializers.CharField(source="render", read_only=True, help_text="As opticians write it.")

    class Meta:
        model = SpectaclePrescription
        fields = [
            "id",
            "patient",
            "issue_date",
            "expiry_date",
            "issued_by",
            "prescriber_name",
            "right_sphere",
            "right_cylinder",
            "right_axis",
            "right_add",
            "right_intermediate_add",
            "right_prism",
            "right_prism_base",
            "right_pd",
            "left_sphere",
            "left_cylinder",
            "left_axis",
            "left_add",
            "left_intermediate_add",
            "left_prism",
            "left_prism_base",
            "left_pd",
            "binocular_pd",
            "near_pd",
            "back_vertex_distance",
            "notes",
            "rendered",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "patient": BY_ID,
            "right_cylinder": {"help_text": "Minus or plus cylinder; plus is transposed and stored as minus."},
            "left_cylinder": {"help_text": "Minus or plus cylinder; plus is transposed and stored as minus."},
        }


class ContactLensPrescriptionSerializer(serializers.ModelSerializer):
    rendered = serializers.CharField(source="render", read_only=True)

    class Meta:
        model = ContactLensPrescription
        fields = [
            "id",
            "patient",
            "issue_date",
            "expiry_date",
            "issued_by",
            "brand",
            "material",
            "replacement",
            "right_base_curve",
            "right_diameter",
            "right_power",
            "right_cylinder",
            "right_axis",
            "right_add",
            "left_base_curve",
            "left_diameter",
            "left_power",
            "left_cylinder",
            "left_axis",
            "left_add",
            "notes",
            "rendered",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"patient": BY_ID}


@extend_schema_field({"type": "string", "enum": [f"{index}" for index in LENS_INDEXES], "nullable": True})
class LensIndexField(serializers.ChoiceField):
    """A lens index as the API writes its other decimals, a string ("1.60"); a ChoiceField alone
    would write the Decimal as a JSON number, which its schema's enum of strings does not hold."""

    def to_representation(self, value: Any) -> Any:
        return None if value in (None, "") else f"{Decimal(value):.2f}"


class ProductSerializer(serializers.ModelSerializer):
    lens_index = LensIndexField(choices=LENS_INDEX_CHOICES, allow_null=True, required=False)
    coatings = serializers.ListField(child=serializers.ChoiceField(choices=Coating.choices), required=False)
    frame_size = serializers.CharField(read_only=True, help_text="eye-bridge-temple, e.g. 52-18-140")

    class Meta:
        model = Product
        # Writable are exactly the fields product_create and product_update accept.
        fields = ["id", *PRODUCT_FIELDS, "frame_size", "quantity_on_hand", "created_at", "updated_at"]
        read_only_fields = ["quantity_on_hand", "created_at", "updated_at"]
        extra_kwargs = {"cost_price": {"help_text": "Only for users with practice.view_cost_price (managers)."}}

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is None:
            return fields
        return {name: fields[name] for name in cost_visibility(user=request.user).fields(fields)}


class StockMovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    sale_reference = serializers.CharField(
        source="sale_line.sale.reference", read_only=True, default=None, allow_null=True
    )
    created_by = serializers.CharField(source="created_by.get_username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "product",
            "sku",
            "kind",
            "quantity",
            "balance_after",
            "sale_line",
            "sale_reference",
            "note",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


PRODUCT_OR_SKU: dict[str, Any] = {"anyOf": [{"required": ["product"]}, {"required": ["sku"]}]}


# Input that names a product by its id or by its SKU; either way ``product`` comes out.
class _ProductOrSkuSerializer(SchemaRules, serializers.Serializer):
    schema_rules = PRODUCT_OR_SKU

    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all(), required=False)
    sku = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "product" not in attrs:
            sku = attrs.get("sku")
            if not sku:
                raise serializers.ValidationError({"product": ["Give the product's id or its SKU."]})
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                raise serializers.ValidationError({"sku": [f"Unknown SKU {sku!r}."]})
            attrs["product"] = product
        return attrs


class StockMovementCreateSerializer(_ProductOrSkuSerializer):
    # What the stock services check: receipts and write-offs move at least one unit; an
    # adjustment is signed, never 0, and gives its reason.
    schema_rules = {
        "allOf": [
            PRODUCT_OR_SKU,
            {
                "anyOf": [
                    # "not" keeps the enums out of drf-spectacular's enum hook, which would widen
                    # them to the field's whole choice set.
                    {"properties": {"kind": {"not": {"enum": ["adjustment"]}}, "quantity": {"minimum": 1}}},
                    {
                        "properties": {
                            "kind": {"not": {"enum": ["receipt", "write_off"]}},
                            "quantity": {"not": {"enum": [0]}},
                            "note": {"pattern": "\\S"},
                        },
                        "required": ["note"],
                    },
                ]
            },
        ]
    }
    kind = serializers.ChoiceField(
        choices=[MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.WRITE_OFF],
        help_text="Sales and returns are recorded by the sale services.",
    )
    quantity = serializers.IntegerField(
        min_value=-MAX_STOCK,
        max_value=MAX_STOCK,
        error_messages={"invalid": "Quantity must be a whole number."},
        help_text="Units received or written off (at least 1), or the signed correction for an adjustment.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SaleLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    lens_type = serializers.ChoiceField(choices=LensType.choices, allow_blank=True, read_only=True)
    description = serializers.CharField(source="product.__str__", read_only=True)

    class Meta:
        model = SaleLine
        fields = [
            "id",
            "product",
            "sku",
            "description",
            "category",
            "lens_type",
            "quantity",
            "unit_price",
            "discount",
            "line_total",
            "tax_rate",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "method", "amount", "taken_at"]
        read_only_fields = fields


class SaleSerializer(serializers.ModelSerializer):
    lines = SaleLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    balance_due = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    staff = serializers.CharField(source="staff.get_username", read_only=True)
    lab_jobs: serializers.SlugRelatedField = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="reference"
    )

    class Meta:
        model = Sale
        fields = [
            "id",
            "reference",
            "patient",
            "staff",
            "prescription",
            "status",
            "created_at",
            "completed_at",
            "sale_date",
            "refunded_at",
            "voided_at",
            "subtotal",
            "discount_total",
            "total",
            "tax_total",
            "amount_paid",
            "balance_due",
            "notes",
            "lines",
            "payments",
            "lab_jobs",
        ]
        read_only_fields = fields


class LineInputSerializer(_ProductOrSkuSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_STOCK, default=1, error_messages=QUANTITY_ERRORS)
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Defaults to the product's price.",
    )
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, default=Decimal("0.00")
    )


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        error_messages={"min_value": "A payment must be more than £0.00."},
        help_text="At most the balance due (409 otherwise).",
    )


class SaleCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.all(), required=False, allow_null=True, style=BY_ID["style"]
    )
    prescription = serializers.PrimaryKeyRelatedField(
        queryset=SpectaclePrescription.objects.all(), required=False, allow_null=True, style=BY_ID["style"]
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineInputSerializer(many=True, required=False, default=list)
    payments = PaymentInputSerializer(many=True, required=False, default=list)


class SaleRefundSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class LabJobSerializer(serializers.ModelSerializer):
    sale_reference = serializers.CharField(source="sale.reference", read_only=True)
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    prescription_rendered = serializers.CharField(source="prescription.render", read_only=True)
    allowed_next = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = LabJob
        fields = [
            "id",
            "reference",
            "sale",
            "sale_reference",
            "patient",
            "patient_name",
            "prescription",
            "prescription_rendered",
            "frame",
            "lens",
            "lab_name",
            "status",
            "allowed_next",
            "ordered_at",
            "sent_at",
            "ready_at",
            "collected_at",
            "cancelled_at",
            "remake_at",
            "remake_count",
            "notes",
        ]
        read_only_fields = fields


class LabJobAdvanceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=LabJobStatus.choices,
        required=False,
        help_text="The step to take; without it, the next step on ordered → at lab → ready → collected.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RecallSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)

    class Meta:
        model = Recall
        fields = [
            "id",
            "patient",
            "patient_name",
            "kind",
            "due_date",
            "status",
            "last_contacted_at",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"patient": BY_ID}


class RecallDueSerializer(serializers.Serializer):
    recall_id = serializers.IntegerField()
    patient_id = serializers.IntegerField()
    patient_name = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    consent_marketing = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=RecallKind.choices)
    kind_label = serializers.CharField()
    due_date = serializers.DateField()
    days_overdue = serializers.IntegerField()
    overdue = serializers.BooleanField()


class LabJobReadySerializer(serializers.Serializer):
    lab_job_id = serializers.IntegerField()
    reference = serializers.CharField()
    patient_id = serializers.IntegerField()
    patient_name = serializers.CharField()
    phone = serializers.CharField()
    ready_at = serializers.DateTimeField()
    days_waiting = serializers.IntegerField()
    sale_reference = serializers.CharField()
    balance_due = serializers.DecimalField(max_digits=12, decimal_places=2)
    frame = serializers.CharField()
    lens = serializers.CharField()


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_username",
            "action",
            "patient",
            "patient_name",
            "patient_ids",
            "patient_ids_truncated",
            "target_type",
            "target_id",
            "target_repr",
            "ip",
            "detail",
        ]
        read_only_fields = fields


# --- reports --------------------------------------------------------------------------------


class SalesSummaryQuerySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Inclusive.")
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    lens_type = serializers.ChoiceField(choices=LensType.choices, required=False)
    product_id = serializers.IntegerField(required=False)
    group_by = serializers.ChoiceField(choices=["month", "category", "lens_type", "product"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["The end date is before the start date."]})
        return attrs


class SalesSummaryRowSerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    month = serializers.CharField(required=False, help_text="YYYY-MM")
    category = serializers.CharField(required=False)
    category_label = serializers.CharField(required=False)
    lens_type = serializers.CharField(required=False)
    lens_type_label = serializers.CharField(required=False)
    product_id = serializers.IntegerField(required=False)
    sku = serializers.CharField(required=False)
    brand = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    units = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="VAT-inclusive, net of discounts.")
    sales = serializers.IntegerField(help_text="Distinct completed sales.")


class TopProductsQuerySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    by = serializers.ChoiceField(choices=["units", "revenue"], default="units")


# Which product a report row is about.
class _ProductRowSerializer(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    brand = serializers.CharField()
    model = serializers.CharField()
    category = serializers.CharField()


class TopProductSerializer(_ProductRowSerializer):
    units = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    sales = serializers.IntegerField()


class LowStockSerializer(_ProductRowSerializer):
    quantity = serializers.IntegerField()
    reorder_level = serializers.IntegerField()
    suggested_order_quantity = serializers.IntegerField(help_text="Up to twice the reorder level, at least 1.")
    supplier = serializers.CharField()
    cost_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, help_text="Managers only (practice.view_cost_price)."
    )
