from __future__ import annotations

from typing import Any

from rest_framework import permissions


class RolePermission(permissions.DjangoModelPermissions):
    """Model permissions for every method, reads included (view_*), plus per-action permissions
    a view declares in ``action_permissions`` (e.g. {"complete": ["practice.change_sale"]})."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if needed is not None:
            return bool(request.user.has_perms(needed))
        return super().has_permission(request, view)


def has_perms(*perms: str) -> type[permissions.BasePermission]:
    """A permission class requiring all of ``perms`` (for views that are not about one model)."""

    class HasPerms(permissions.BasePermission):
        message = f"You need the permission(s): {', '.join(perms)}."

        def has_permission(self, request: Any, view: Any) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perms(perms))

    HasPerms.__name__ = "Has_" + "_".join(p.split(".")[-1] for p in perms)
    return HasPerms
