from __future__ import annotations

import ipaddress
from typing import Any

from practice.models import AuditEvent, Patient


def request_ip(request: Any) -> str | None:
    """The client address of a Django or DRF request (REMOTE_ADDR: a proxy in front sets it)."""
    meta = getattr(request, "META", None) or getattr(getattr(request, "_request", None), "META", {})
    value = (meta or {}).get("REMOTE_ADDR") or None
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def audit_event_record(
    *,
    actor: Any,
    action: str,
    patient: Patient | None = None,
    target: object | None = None,
    ip: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit event: who (``actor``, a user or None), did what (``action``: "view",
    "change", "create", "delete", "search", "assistant_lookup"...), to whose record, from where.

    Not atomic on purpose: it joins the caller's transaction when there is one, so an event for a
    change that rolls back goes with it."""
    if patient is None and isinstance(target, Patient):
        patient = target
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    target_type = target_id = target_repr = ""
    if target is not None:
        meta = getattr(target, "_meta", None)
        target_type = meta.label if meta is not None else type(target).__name__
        target_id = str(getattr(target, "pk", "") or "")
        target_repr = str(target)[:200]
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        action=action[:30],
        patient=patient,
        patient_name=patient.full_name[:220] if patient is not None else "",
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        ip=ip,
        detail=detail or {},
    )
