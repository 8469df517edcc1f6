from __future__ import annotations

from django.db import models

from .choices import RecallKind, RecallStatus
from .patients import Patient

__all__ = ["Recall"]


class Recall(models.Model):
    """When a patient is next due an eye examination or a contact lens aftercare."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="recalls")
    kind = models.CharField(max_length=15, choices=RecallKind.choices)
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=RecallStatus.choices, default=RecallStatus.PENDING)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["due_date", "kind"], name="recall_pending_due", condition=models.Q(status="pending")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(status__in=["pending", "booked"]),
                name="recall_one_open_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient.full_name}: {self.get_kind_display()} due {self.due_date:%d/%m/%Y}"
