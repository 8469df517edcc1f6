"""The API's page numbers."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's, with `page` given at most once: `?page=9&page=` would otherwise quietly serve the
    first page (DRF reads the last value)."""

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        if len(request.query_params.getlist(self.page_query_param)) > 1:
            raise ValidationError({self.page_query_param: ["Give the page number once."]})
        return super().get_page_number(request, paginator)
