from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from practice.models import LabJob, Payment, Sale, SaleLine, SaleStatus
from practice.roles import REFUND_SALE, VOID_SALE
from practice.services import (
    sale_complete,
    sale_create,
    sale_line_add,
    sale_line_remove,
    sale_payment_add,
    sale_refund,
    sale_update,
    sale_void,
)

from .common import PatientAuditMixin, ReadOnlyMixin, export_csv


class _NothingSaved(Exception):
    """A line or payment broke a rule while the admin saved a sale: the whole save is undone."""


def _errors(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, PermissionDenied):
        reason = exc.args[0] if exc.args else "Not permitted."
        if isinstance(reason, dict):
            return "; ".join(f"{field}: {m}" for field, ms in reason.items() for m in ms)
        return str(reason)
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {m}" for field, ms in exc.message_dict.items() for m in ms)
    return "; ".join(exc.messages)


class SaleLineForm(forms.ModelForm):
    unit_price = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, min_value=Decimal("0"), help_text="Blank: the product's price."
    )
    discount = forms.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=Decimal("0"))
    quantity = forms.IntegerField(min_value=1, initial=1, required=False)

    class Meta:
        model = SaleLine
        fields = ["product", "quantity", "unit_price", "discount"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        product, quantity = data.get("product"), data.get("quantity")
        if product is not None and not quantity and "quantity" not in self.errors:
            self.add_error("quantity", "Quantity must be at least 1.")
        if product is not None and not product.is_active:
            self.add_error("product", f"{product.sku} is no longer sold (inactive).")
        if product is not None and quantity:
            price = data.get("unit_price")
            price = product.price if price is None else price
            if (data.get("discount") or 0) > price * quantity:
                self.add_error("discount", f"Discount is more than the line's £{price * quantity}.")
        return data


class SaleLineInline(admin.TabularInline):
    """Lines go through the sale services: a changed line is removed and added again."""

    model = SaleLine
    form = SaleLineForm
    extra = 1
    autocomplete_fields = ["product"]
    fields = ["product", "quantity", "unit_price", "discount", "line_total"]
    readonly_fields = ["line_total"]

    def _draft(self, obj: Sale | None) -> bool:
        return obj is None or obj.status == SaleStatus.DRAFT

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if self._draft(obj) else self.fields

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if self._draft(obj) else 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._draft(obj) and super().has_delete_permission(request, obj)


class PaymentForm(forms.ModelForm):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        model = Payment
        fields = ["method", "amount"]


class PaymentFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        sale = self.instance
        new = [f for f in self.forms if f.has_changed() and not f.instance.pk and f.cleaned_data.get("amount")]
        if not new:
            return
        if sale.pk is None:
            raise ValidationError("Save the sale with its lines first, then take payments against its balance.")
        total = sum(f.cleaned_data["amount"] for f in new)
        if total > sale.balance_due:
            raise ValidationError(f"Payments of £{total} are more than the balance due £{sale.balance_due}.")


class PaymentInline(admin.TabularInline):
    model = Payment
    form = PaymentForm
    formset = PaymentFormSet
    extra = 1
    fields = ["method", "amount", "taken_at", "taken_by"]
    readonly_fields = ["taken_at", "taken_by"]
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if obj is not None and obj.pk and obj.balance_due > 0 else 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        open_sale = obj is not None and obj.pk and obj.status in (SaleStatus.DRAFT, SaleStatus.COMPLETED)
        return bool(open_sale) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LabJobInline(ReadOnlyMixin, admin.TabularInline):
    model = LabJob
    fk_name = "sale"
    extra = 0
    fields = ["reference", "status", "frame", "lens", "ordered_at", "ready_at"]
    readonly_fields = cast(list[str], fields)
    show_change_link = True


@admin.register(Sale)
class SaleAdmin(PatientAuditMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "created_at",
        "sale_date",
        "patient",
        "staff",
        "status_badge",
        "total",
        "amount_paid",
        "balance",
    ]
    list_select_related = ["patient", "staff"]
    list_filter = ["status", ("sale_date", admin.DateFieldListFilter), "staff", "lines__category"]
    search_fields = ["reference", "patient__first_name", "patient__last_name"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["patient", "prescription"]
    inlines = [SaleLineInline, PaymentInline, LabJobInline]
    actions = [export_csv, "complete_sales", "refund_sales", "void_sales"]
    change_form_template = "admin/practice/sale/change_form.html"
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 80})}}
    fieldsets = [
        (None, {"fields": [("patient", "prescription"), "notes"]}),
        ("Status", {"fields": [("reference", "status", "staff"), ("created_at", "completed_at", "sale_date")]}),
        (
            "Totals (VAT inclusive)",
            {"fields": [("subtotal", "discount_total", "total"), ("tax_total", "amount_paid", "balance")]},
        ),
    ]
    readonly_fields = [
        "reference",
        "status",
        "staff",
        "created_at",
        "completed_at",
        "sale_date",
        "subtotal",
        "discount_total",
        "total",
        "tax_total",
        "amount_paid",
        "balance",
    ]

    @admin.display(description="balance due")
    def balance(self, obj: Sale) -> Decimal:
        return obj.balance_due

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Sale) -> str:
        colours = {"draft": "#8a6d3b", "completed": "#2e7d32", "refunded": "#6a1b9a", "voided": "#777"}
        return format_html('<b style="color:{}">{}</b>', colours.get(obj.status, "#000"), obj.get_status_display())

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status != SaleStatus.DRAFT:
            return [*self.readonly_fields, "patient", "prescription"]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):  # type: ignore[no-untyped-def]
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "prescription" and field is not None and field.queryset is not None:
            field.queryset = field.queryset.select_related("patient")
            field.help_text = "Blank: the patient's latest prescription is used for spectacle lenses."
        return field

    def has_refund_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(REFUND_SALE)

    def has_void_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VOID_SALE)

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any) -> Any:
        context.update(
            has_refund_permission=self.has_refund_permission(request),
            has_void_permission=self.has_void_permission(request),
        )
        return super().render_change_form(request, context, *args, **kwargs)

    def save_model(self, request: HttpRequest, obj: Sale, form: Any, change: bool) -> None:
        # The form has already run Sale.clean (the prescription is the patient's own); the
        # services hold the rules again for every other path.
        if change:
            sale_update(sale=obj, patient=obj.patient, prescription=obj.prescription, notes=obj.notes)
        else:
            sale = sale_create(
                staff=request.user,
                patient=form.cleaned_data.get("patient"),
                prescription=form.cleaned_data.get("prescription"),
                notes=form.cleaned_data.get("notes", ""),
            )
            obj.pk, obj.reference, obj.created_at, obj.staff = sale.pk, sale.reference, sale.created_at, sale.staff
            obj._state.adding = False
        self._audit(request, "change" if change else "create", obj, fields=sorted(form.changed_data))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        sale: Sale = form.instance
        # What formset.save() would have recorded (the admin's history message reads it).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            if formset.model is SaleLine:
                for line_form in formset.deleted_forms:
                    if line_form.instance.pk:
                        sale_line_remove(line=line_form.instance)
                        formset.deleted_objects.append(line_form.instance)
                for line_form in formset.forms:
                    if line_form in formset.deleted_forms or not line_form.has_changed():
                        continue
                    if line_form.instance.pk:
                        sale_line_remove(line=line_form.instance)
                        formset.deleted_objects.append(line_form.instance)
                    data = line_form.cleaned_data
                    line = sale_line_add(
                        sale=sale,
                        user=request.user,
                        product=data["product"],
                        quantity=data["quantity"],
                        unit_price=data.get("unit_price"),
                        discount=data.get("discount") or Decimal("0"),
                    )
                    formset.new_objects.append(line)
            elif formset.model is Payment:
                for pay_form in formset.forms:
                    if pay_form.instance.pk or not pay_form.has_changed():
                        continue
                    formset.new_objects.append(
                        sale_payment_add(
                            sale=sale,
                            method=pay_form.cleaned_data["method"],
                            amount=pay_form.cleaned_data["amount"],
                            user=request.user,
                        )
                    )
            else:
                super().save_formset(request, form, formset, change)
        except (ValidationError, PermissionDenied) as exc:
            raise _NothingSaved(_errors(exc)) from exc
        sale.refresh_from_db()

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _NothingSaved as exc:
            # Raised inside the admin's transaction for the whole save, so the sale, its lines
            # and its payments are all rolled back; the message outlives it (kept in a cookie or the session).
            self.message_user(request, f"Nothing was saved: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def response_change(self, request: HttpRequest, obj: Sale) -> HttpResponse:
        for button, service, verb in (
            ("_complete", sale_complete, "completed"),
            ("_refund", sale_refund, "refunded"),
            ("_void", sale_void, "voided"),
        ):
            if button in request.POST:
                try:
                    service(sale=obj, user=request.user)
                except (ValidationError, PermissionDenied) as exc:
                    self.message_user(request, f"Sale {obj.reference} was not {verb}: {_errors(exc)}", messages.ERROR)
                else:
                    self._audit(request, "change", obj, step=verb)
                    jobs = obj.lab_jobs.count()
                    extra = f" {jobs} lab job(s) ordered." if verb == "completed" and jobs else ""
                    self.message_user(request, f"Sale {obj.reference} {verb}.{extra}", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: Sale, post_url_continue: str | None = None) -> HttpResponse:
        # A new sale goes straight on to its change page to take lines, payments and completion.
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"Sale {obj.reference} saved as a draft: add lines and payments, then complete it.")
        return HttpResponseRedirect(reverse("admin:practice_sale_change", args=[obj.pk]))

    @admin.action(description="Complete selected draft sales (takes stock)", permissions=["change"])
    def complete_sales(self, request: HttpRequest, queryset: QuerySet[Sale]) -> None:
        self._run(request, queryset, sale_complete, "completed")

    @admin.action(description="Refund selected completed sales (returns stock)", permissions=["refund"])
    def refund_sales(self, request: HttpRequest, queryset: QuerySet[Sale]) -> None:
        self._run(request, queryset, sale_refund, "refunded")

    @admin.action(description="Void selected draft sales (hands back deposits)", permissions=["void"])
    def void_sales(self, request: HttpRequest, queryset: QuerySet[Sale]) -> None:
        self._run(request, queryset, sale_void, "voided")

    def _run(self, request: HttpRequest, queryset: QuerySet[Sale], service: Any, verb: str) -> None:
        done = 0
        for sale in queryset.order_by("pk"):
            try:
                service(sale=sale, user=request.user)
                self._audit(request, "change", sale, step=verb)
                done += 1
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"{sale.reference} not {verb}: {_errors(exc)}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} sale(s) {verb}.", messages.SUCCESS)
