from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from practice import selectors
from practice.models import SalesDaySummary
from practice.roles import VIEW_REPORTS

from .common import ReadOnlyMixin


@admin.register(SalesDaySummary)
class SalesReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Shown as "Sales reports": the figures the assistant quotes, for managers."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(VIEW_REPORTS)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(VIEW_REPORTS)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        today = timezone.localdate()
        start = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
        last_30 = today - timedelta(days=29)
        low = selectors.cost_visibility(user=request.user).rows(selectors.low_stock_products())
        context = {
            **self.admin_site.each_context(request),
            "title": "Sales reports",
            "opts": self.model._meta,
            "start": start,
            "today": today,
            "by_month": selectors.sales_summary(start=start, end=today, group_by="month"),
            "by_category": selectors.sales_summary(start=last_30, end=today, group_by="category"),
            "by_lens_type": selectors.sales_summary(start=last_30, end=today, group_by="lens_type"),
            "top": selectors.top_products(start=last_30, end=today, limit=10),
            "low_stock": low[:30],
            "low_stock_count": len(low),
            "recalls_overdue": len(selectors.recalls_due(on=today, overdue_only=True)),
            "recalls_due": len(selectors.recalls_due(on=today)),
            # A count, not the list: the report names no patient (the lab jobs page does, audited).
            "ready_count": selectors.lab_jobs_ready_count(),
        }
        return TemplateResponse(request, "admin/practice/salesdaysummary/report.html", context)
