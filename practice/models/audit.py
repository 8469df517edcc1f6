from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

__all__ = ["AUDIT_PATIENT_IDS_PER_EVENT", "AuditEvent"]

# A list or search event names the patients it showed, up to this many (a page of the admin
# holds at most 200 rows, the API's at most 50); more than that is marked as truncated.
AUDIT_PATIENT_IDS_PER_EVENT = 200


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit events are append-only.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """Who read or changed what about a patient, when and from where. Append-only: the model
    refuses updates and deletes, and a database trigger refuses them too (see migration 0002).

    ``actor`` and ``patient`` are kept as plain ids (no foreign-key constraint) so that deleting a
    user or a patient keeps their history; ``actor_username`` and ``patient_name`` record who they
    were at the time. ``patient_ids`` are the patients the event showed (the one patient of a
    record, or those on a page of a list, search or export), so that "who looked at patient X"
    finds lists as well as records.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30, db_index=True)
    patient = models.ForeignKey(
        "practice.Patient",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    patient_name = models.CharField(max_length=220, blank=True)
    patient_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    patient_ids_truncated = models.BooleanField(
        default=False, help_text=f"More patients were shown than the {AUDIT_PATIENT_IDS_PER_EVENT} ids kept."
    )
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ()
        permissions = [("view_audit_event", "Can view audit events")]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="audit_patient_time"),
            GinIndex(fields=["patient_ids"], name="audit_patient_ids"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or '?'} {self.action} {self.target_repr}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("Audit events are append-only.")
