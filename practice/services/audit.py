from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from practice.models import AUDIT_PATIENT_IDS_PER_EVENT, AuditEvent, Patient


def request_ip(request: Any) -> str | None:
    """The client address of a Django or DRF request (REMOTE_ADDR: a proxy in front sets it)."""
    meta = getattr(request, "META", None) or getattr(getattr(request, "_request", None), "META", {})
    value = (meta or {}).get("REMOTE_ADDR") or None
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def _distinct_ids(patient: Patient | None, patient_ids: Iterable[int | None]) -> list[int]:
    seen: dict[int, None] = {}
    if patient is not None and patient.pk is not None:
        seen[patient.pk] = None
    for pk in patient_ids:
        if pk is not None:
            seen.setdefault(int(pk), None)
    return list(seen)


def audit_event_record(
    *,
    actor: Any,
    action: str,
    patient: Patient | None = None,
    patient_ids: Iterable[int | None] = (),
    target: object | None = None,
    ip: str | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Append one audit event: who (``actor``, a user or None), did what (``action``: "view",
    "list", "search", "change", "create", "delete", "export", "assistant_lookup"...), to whose
    record (``patient``) or to which patients a list showed (``patient_ids``), from where.

    At most AUDIT_PATIENT_IDS_PER_EVENT ids are kept; beyond that the event is marked truncated
    and ``detail["patients_shown"]`` says how many there were.

    Not atomic on purpose: it joins the caller's transaction when there is one, so an event for a
    change that rolls back goes with it."""
    if patient is None and isinstance(target, Patient):
        patient = target
    ids = _distinct_ids(patient, patient_ids)
    truncated = len(ids) > AUDIT_PATIENT_IDS_PER_EVENT
    detail = dict(detail or {})
    if truncated:
        detail["patients_shown"] = len(ids)
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
        patient_ids=ids[:AUDIT_PATIENT_IDS_PER_EVENT],
        patient_ids_truncated=truncated,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        ip=ip,
        detail=detail,
    )


def audit_export_record(
    *, actor: Any, patient_ids: Iterable[int | None], ip: str | None = None, detail: dict | None = None
) -> list[AuditEvent]:
    """Record an export of patients' data: unlike a page of a list, an export has no bound, so it
    is written as one event per AUDIT_PATIENT_IDS_PER_EVENT patients (``detail["part"]`` is
    [k, n]) and every exported patient is named."""
    ids = _distinct_ids(None, patient_ids)
    size = AUDIT_PATIENT_IDS_PER_EVENT
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)] or [[]]
    return [
        audit_event_record(
            actor=actor,
            action="export",
            patient_ids=chunk,
            ip=ip,
            detail={**(detail or {}), "patients": len(ids), "part": [number, len(chunks)]},
        )
        for number, chunk in enumerate(chunks, start=1)
    ]
