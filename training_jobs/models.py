"""Training examples (the practice's own Q&A) and fine-tuning jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TrainingExample(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Written by staff"
        IMPORT = "import", "Imported"
        ASSISTANT_FEEDBACK = "assistant_feedback", "Assistant feedback"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    prompt = models.TextField()
    completion = models.TextField()
    system_prompt = models.TextField(blank=True)
    category = models.CharField(max_length=64, blank=True, db_index=True)
    source = models.CharField(max_length=32, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # sha256 of the normalised (case-folded, whitespace-collapsed) system prompt, prompt and
    # completion: the same Q&A typed twice is one example.
    content_hash = models.CharField(max_length=64, unique=True, editable=False)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "id"]
        permissions = [("approve_trainingexample", "Can approve training examples (approved ones are trained on)")]

    def __str__(self) -> str:
        return self.prompt[:80]


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    name = models.CharField(max_length=120, blank=True)
    base_model = models.ForeignKey(
        "assistant.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="training_jobs",
        help_text="The registered model to fine-tune (its GGUF); or leave empty and give a base identifier.",
    )
    base_identifier = models.CharField(
        max_length=500,
        blank=True,
        help_text="A Hugging Face id (e.g. meta-llama/Llama-3.1-8B-Instruct), a local Hugging Face directory or a GGUF file.",
    )
    chat_format = models.CharField(max_length=32, blank=True)
    # The frozen data set: which examples, and a hash of their content at creation time.
    example_ids = models.JSONField(default=list)
    dataset_hash = models.CharField(max_length=64, blank=True)
    data_file = models.CharField(max_length=500, blank=True, help_text="A JSONL file given to `manage.py train`.")
    hyperparameters = models.JSONField(default=dict)
    merge_quantized = models.BooleanField(default=False, help_text="Also write a merged GGUF re-quantized to Q4_K_M.")
    deploy_on_success = models.BooleanField(default=False)
    output_dir = models.CharField(max_length=500, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    cancel_requested = models.BooleanField(default=False)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    epoch = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True)
    train_loss = models.JSONField(default=list, help_text="[[step, loss], ...]")
    eval_loss = models.JSONField(default=list, help_text="[[step, loss], ...]")
    log_tail = models.TextField(blank=True)
    tokens_seen = models.BigIntegerField(default=0)
    checkpoint_step = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    evaluation = models.JSONField(default=dict, blank=True)
    artifacts = models.JSONField(default=dict, blank=True)
    model_version = models.ForeignKey(
        "assistant.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The model version registered from this job's result.",
    )
    worker = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=100, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("run_training_job", "Can start, cancel and deploy training jobs")]

    def __str__(self) -> str:
        return self.name or f"training job {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> float:
        return round(100.0 * self.step / self.total_steps, 1) if self.total_steps else 0.0
