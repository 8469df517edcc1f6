from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from optiq_site.service_errors import StateConflict
from practice.models import LAB_JOB_TIMESTAMPS, LAB_JOB_TRANSITIONS, LabJob, LabJobStatus


@transaction.atomic
def lab_job_transition(*, job: LabJob, status: str, note: str = "", at: datetime | None = None) -> LabJob:
    """Move a lab job to ``status`` if the rules allow it from where it is (see
    LAB_JOB_TRANSITIONS), stamping the time of the step."""
    locked = LabJob.objects.select_for_update().get(pk=job.pk)
    if status not in LabJobStatus.values:
        raise ValidationError(
            {"status": [f"Unknown lab job status {status!r}; one of {', '.join(LabJobStatus.values)}."]}
        )
    allowed = LAB_JOB_TRANSITIONS[locked.status]
    if status not in allowed:
        labels = dict(LabJobStatus.choices)
        nexts = ", ".join(str(labels[s]) for s in allowed) or "nothing (it is final)"
        raise StateConflict(
            {
                "status": [
                    f"A lab job cannot go from {labels[locked.status]} to {labels[status]}; from "
                    f"{labels[locked.status]} it can go to: {nexts}."
                ]
            }
        )
    now = at or timezone.now()
    locked.status = status
    setattr(locked, LAB_JOB_TIMESTAMPS[status], now)
    fields = ["status", LAB_JOB_TIMESTAMPS[status], "updated_at", "notes"]
    if status == LabJobStatus.REMAKE:
        locked.remake_count += 1
        fields.append("remake_count")
    if note:
        stamp = timezone.localtime(now).strftime("%d/%m/%Y %H:%M")
        locked.notes = (locked.notes + "\n" if locked.notes else "") + f"{stamp} {LabJobStatus(status).label}: {note}"
    locked.save(update_fields=fields)
    job.refresh_from_db()
    return locked


def lab_job_advance(*, job: LabJob, note: str = "", at: datetime | None = None) -> LabJob:
    """Take the next step on the main path (ordered -> at lab -> ready -> collected)."""
    step = job.next_main_step
    if step is None:
        raise StateConflict({"status": [f"A {job.get_status_display().lower()} lab job has no next step."]})
    return lab_job_transition(job=job, status=step, note=note, at=at)
