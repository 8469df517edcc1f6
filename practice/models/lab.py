from __future__ import annotations

from datetime import datetime

from django.db import models

from .choices import LabJobStatus
from .inventory import Product
from .patients import Patient
from .prescriptions import SpectaclePrescription
from .sales import Sale, SaleLine

__all__ = ["LAB_JOB_TIMESTAMPS", "LAB_JOB_TRANSITIONS", "LabJob", "lab_job_for_pair", "lab_job_reference"]

S = LabJobStatus
# Which status may follow which. The main path is ordered -> at lab -> ready -> collected.
LAB_JOB_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.ORDERED: (S.AT_LAB, S.CANCELLED),
    S.AT_LAB: (S.READY, S.REMAKE, S.CANCELLED),
    S.READY: (S.COLLECTED, S.REMAKE, S.CANCELLED),
    S.REMAKE: (S.AT_LAB, S.CANCELLED),
    S.COLLECTED: (S.REMAKE,),
    S.CANCELLED: (),
}
LAB_JOB_TIMESTAMPS: dict[str, str] = {
    S.ORDERED: "ordered_at",
    S.AT_LAB: "sent_at",
    S.READY: "ready_at",
    S.COLLECTED: "collected_at",
    S.CANCELLED: "cancelled_at",
    S.REMAKE: "remake_at",
}


def lab_job_reference(*, sale_reference: str, number: int) -> str:
    """The ``number``-th lab job of a sale is named after the sale, so the lab's docket and the
    till receipt can be matched by eye: sale S-260301-7F3A2C -> LJ-260301-7F3A2C-1."""
    return f"LJ-{sale_reference.removeprefix('S-')}-{number}"


class LabJob(models.Model):
    """Glazing a pair of spectacles: a frame and lenses made to a prescription by the lab."""

    reference = models.CharField(max_length=30, unique=True)
    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="lab_jobs")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lab_jobs")
    prescription = models.ForeignKey(SpectaclePrescription, on_delete=models.PROTECT, related_name="lab_jobs")
    frame_line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lens_line = models.ForeignKey(SaleLine, on_delete=models.PROTECT, related_name="+")
    frame = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lens = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    lab_name = models.CharField(max_length=100, default="Central Optical Lab")
    status = models.CharField(max_length=10, choices=LabJobStatus.choices, default=LabJobStatus.ORDERED)
    ordered_at = models.DateTimeField()
    sent_at = models.DateTimeField("sent to lab", null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    remake_at = models.DateTimeField("last remake", null=True, blank=True)
    remake_count = models.PositiveSmallIntegerField(default=0)
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [models.Index(fields=["status", "ready_at"], name="labjob_status_ready")]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def allowed_next(self) -> tuple[str, ...]:
        return LAB_JOB_TRANSITIONS[self.status]

    @property
    def next_main_step(self) -> str | None:
        """The next step on the main path, which the "advance" action takes."""
        main_path: dict[str, str] = {S.ORDERED: S.AT_LAB, S.AT_LAB: S.READY, S.READY: S.COLLECTED, S.REMAKE: S.AT_LAB}
        return main_path.get(self.status)


def lab_job_for_pair(
    *,
    sale: Sale,
    number: int,
    prescription: SpectaclePrescription,
    lens_line: SaleLine,
    frame_line: SaleLine | None,
    ordered_at: datetime,
) -> LabJob:
    """The (unsaved) lab job that glazes the ``number``-th pair of lenses of a sale, into its
    frame if the sale has one for it: as sale completion opens it and the demo writes it."""
    return LabJob(
        reference=lab_job_reference(sale_reference=sale.reference, number=number),
        sale=sale,
        patient=sale.patient,
        prescription=prescription,
        lens_line=lens_line,
        lens=lens_line.product,
        frame_line=frame_line,
        frame=frame_line.product if frame_line else None,
        status=LabJobStatus.ORDERED,
        ordered_at=ordered_at,
    )
