from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from practice.models import Coating, Product, StockMovement
from practice.roles import RECEIVE_STOCK
from practice.selectors import cost_visibility
from practice.services import stock_receive
from practice.services.catalogue import PRODUCT_FIELDS

from .common import ReadOnlyMixin, export_csv


class LowStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("low", "At or below reorder level"), ("out", "Out of stock"), ("ok", "Above reorder level")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "low":
            return queryset.filter(quantity_on_hand__lte=F("reorder_level"))
        if self.value() == "out":
            return queryset.filter(quantity_on_hand=0)
        if self.value() == "ok":
            return queryset.filter(quantity_on_hand__gt=F("reorder_level"))
        return queryset


class ProductForm(forms.ModelForm):
    coatings = forms.MultipleChoiceField(choices=Coating.choices, required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Product
        fields = sorted(PRODUCT_FIELDS)


class ReceiveStockForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=10_000, help_text="Units received of each selected product.")
    note = forms.CharField(max_length=200, required=False, help_text="Delivery note or supplier invoice.")


class StockMovementInline(ReadOnlyMixin, admin.TabularInline):
    model = StockMovement
    fk_name = "product"
    extra = 0
    fields = ["created_at", "kind", "quantity", "balance_after", "note", "created_by"]
    readonly_fields = cast(list[str], fields)
    ordering = ["-created_at", "-id"]
    max_num = 0
    verbose_name_plural = "stock movements (newest first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("created_by")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductForm
    list_display = [
        "sku",
        "brand",
        "model",
        "colour",
        "category",
        "lens_type",
        "frame_size",
        "price",
        "cost_price",
        "quantity_on_hand",
        "reorder_level",
        "low_stock",
        "is_active",
    ]
    list_display_links = ["sku", "brand", "model"]
    list_filter = ["category", "lens_type", LowStockFilter, "is_active", "lens_index", "lens_material", "supplier"]
    search_fields = ["sku", "brand", "model", "colour"]
    list_per_page = 50
    actions = [export_csv, "receive_stock"]
    readonly_fields = ["quantity_on_hand", "created_at", "updated_at"]
    inlines = [StockMovementInline]
    fieldsets = [
        (None, {"fields": ["category", "sku", ("brand", "model", "colour"), "description", "is_active"]}),
        (
            "Frame",
            {
                "fields": [("frame_eye_size", "frame_bridge", "frame_temple")],
                "classes": ["collapse"],
                "description": "Boxing-system size as on the temple: eye-bridge-temple, e.g. 52-18-140.",
            },
        ),
        (
            "Spectacle lens",
            {"fields": [("lens_type", "lens_material", "lens_index"), "coatings"], "classes": ["collapse"]},
        ),
        (
            "Pricing and stock",
            {
                "fields": [
                    ("price", "tax_rate"),
                    "cost_price",
                    "supplier",
                    ("quantity_on_hand", "reorder_level"),
                    ("created_at", "updated_at"),
                ]
            },
        ),
    ]

    @admin.display(boolean=True, description="low")
    def low_stock(self, obj: Product) -> bool:
        return obj.is_low_stock

    @admin.display(description="size")
    def frame_size(self, obj: Product) -> str:
        return obj.frame_size

    # Cost prices are for managers (practice.view_cost_price) only: in lists, forms and exports.
    def get_list_display(self, request: HttpRequest) -> Any:
        return cost_visibility(user=request.user).fields(super().get_list_display(request))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        visibility = cost_visibility(user=request.user)
        return [
            (name, {**options, "fields": visibility.fields(options["fields"])})
            for name, options in super().get_fieldsets(request, obj)
        ]

    def get_sortable_by(self, request: HttpRequest) -> Any:
        return [c for c in self.get_list_display(request) if c not in ("low_stock", "frame_size")]

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not request.user.has_perm(RECEIVE_STOCK):
            actions.pop("receive_stock", None)
        return actions

    @admin.action(description="Receive stock for selected products")
    def receive_stock(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse | None:
        if not request.user.has_perm(RECEIVE_STOCK):
            self.message_user(request, "You may not receive stock.", messages.ERROR)
            return None
        form = ReceiveStockForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                with transaction.atomic():
                    for product in queryset.order_by("pk"):
                        stock_receive(
                            product=product,
                            quantity=form.cleaned_data["quantity"],
                            user=request.user,
                            note=form.cleaned_data["note"],
                        )
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                return None
            self.message_user(
                request, f"Received {form.cleaned_data['quantity']} of each of {queryset.count()} product(s)."
            )
            return None
        return render(
            request,
            "admin/practice/receive_stock.html",
            {
                **self.admin_site.each_context(request),
                "title": "Receive stock",
                "form": form,
                "products": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The ledger is read-only: corrections are new movements (receive, adjust, write off)."""

    list_display = [
        "created_at",
        "product",
        "kind",
        "quantity",
        "balance_after",
        "sale_reference",
        "note",
        "created_by",
    ]
    list_select_related = ["product", "sale_line__sale", "created_by"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter), "product__category"]
    search_fields = ["product__sku", "product__brand", "product__model", "note"]
    date_hierarchy = "created_at"
    actions = [export_csv]

    @admin.display(description="sale")
    def sale_reference(self, obj: StockMovement) -> str:
        return obj.sale_line.sale.reference if obj.sale_line is not None else ""
