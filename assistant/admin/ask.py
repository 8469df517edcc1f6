"""The "Ask OptiQ" page: the assistant inside the admin, for every staff role.

The page is the admin's own (base template, look, dark mode) and talks to the threads API
(`/api/v1/assistant/threads/`) with the user's session, so it shows exactly what the API
lets that user see. It is linked first on the admin index and in the sidebar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from assistant.threads import PATIENT_PERMISSION, threads_visible_to

ASK_TITLE = "Ask OptiQ"


def ask_view(request: HttpRequest) -> HttpResponse:
    from django.contrib import admin

    requested = request.GET.get("thread", "")
    thread_id = int(requested) if requested.isdigit() else None
    if thread_id is not None and not threads_visible_to(request.user).filter(pk=thread_id).exists():
        thread_id = None  # another user's thread (or none): the page opens on a new conversation
    context = {
        **admin.site.each_context(request),
        "title": ASK_TITLE,
        "thread_id": thread_id,
        "threads_url": reverse("assistant-thread-list"),
        "can_see_patients": request.user.has_perm(PATIENT_PERMISSION),
        "admin_root": reverse("admin:index"),
    }
    return TemplateResponse(request, "admin/assistant/ask.html", context)


def ask_app_entry() -> dict[str, Any]:
    """Ask OptiQ as an entry of the admin's app list (the index and the sidebar render that list)."""
    url = reverse("admin:assistant_ask")
    return {
        "name": ASK_TITLE,
        "app_label": "ask_optiq",
        "app_url": url,
        "has_module_perms": True,
        "models": [
            {
                "name": "Ask a question",
                "object_name": "AskOptiQ",
                "admin_url": url,
                "add_url": None,
                "view_only": True,
                "perms": {"add": False, "change": False, "delete": False, "view": True},
            }
        ],
    }


def ask_link_install(site: AdminSite) -> None:
    """Put Ask OptiQ first in the site's app list for every active staff user. The app list is
    what both the index and the sidebar show, so wrapping the site's `get_app_list` is the one
    hook that reaches both without replacing the admin's templates."""
    app_list: Callable[..., list[dict[str, Any]]] = site.get_app_list

    def with_ask(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = app_list(request, app_label)
        user = request.user
        if app_label is None and user.is_active and user.is_staff:
            return [ask_app_entry(), *apps]
        return apps

    site.get_app_list = with_ask  # type: ignore[method-assign]
