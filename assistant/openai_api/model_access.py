"""Who may use which model on /v1.

Everyone with an API key talks to the active chat model (by name or an alias) and the embedding
model. Any other version, a fine-tuned one never activated included, is for those who manage
model versions (ML admins), who try a version before they activate it. A version someone may not
use is answered exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from assistant.llm.errors import ModelNotFound
from assistant.registry.selectors import ACTIVE_ALIASES, model_by_name

TRY_ANY_VERSION_PERMISSION = "assistant.manage_model_versions"


def may_use_any_version(user: Any) -> bool:
    return bool(user.has_perm(TRY_ANY_VERSION_PERMISSION))


def usable_versions(user: Any, versions: list[Any]) -> list[Any]:
    """The versions `user` may name on /v1, of those given."""
    if may_use_any_version(user):
        return versions
    return [v for v in versions if v.is_active]


def check_model_access(user: Any, name: str | None) -> None:
    """Raise ModelNotFound unless `user` may use the model `name` names (None or an alias: the active one)."""
    if not name or name in ACTIVE_ALIASES or may_use_any_version(user):
        return
    version = model_by_name(name)
    if version is not None and not version.is_active:
        raise ModelNotFound(f"The model '{name}' does not exist")
