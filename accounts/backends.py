"""The lockout check in front of Django's password login (AUTHENTICATION_BACKENDS)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' check for logins over HTTP; a login without a request (a management command,
    a shell) has no client to lock out and passes to the next backend."""

    def authenticate(self, request: Any = None, username: Any = None, password: Any = None, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
