"""Every write for fine-tuning: training examples, training jobs (from creation to their end
state) and deploying a result. Keyword-only; a django ValidationError names the field and the
rule, with nothing written."""

from .deploy import training_job_deploy, training_job_rollback
from .examples import (
    ImportReport,
    content_hash,
    training_example_create,
    training_example_create_from_feedback,
    training_example_update,
    training_examples_import,
    training_examples_load_shipped,
    training_examples_review,
)
from .jobs import (
    training_job_cancel,
    training_job_claim,
    training_job_create,
    training_job_enqueue,
    training_job_execute,
    training_job_finish,
    training_jobs_fail_stale,
    training_jobs_recover,
    worker_label,
    worker_name,
)
from .progress import JobProgressReporter, training_job_heartbeat

__all__ = [
    "ImportReport",
    "JobProgressReporter",
    "content_hash",
    "training_example_create",
    "training_example_create_from_feedback",
    "training_example_update",
    "training_examples_import",
    "training_examples_load_shipped",
    "training_examples_review",
    "training_job_cancel",
    "training_job_claim",
    "training_job_create",
    "training_job_deploy",
    "training_job_enqueue",
    "training_job_execute",
    "training_job_finish",
    "training_job_heartbeat",
    "training_job_rollback",
    "training_jobs_fail_stale",
    "training_jobs_recover",
    "worker_label",
    "worker_name",
]
