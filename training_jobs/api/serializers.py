"""Explicit input and output serializers for examples, jobs and readiness."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from training_jobs.dataset_files import FORMATS
from training_jobs.models import TrainingExample, TrainingJob


class TrainingExampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingExample
        fields = [
            "id",
            "prompt",
            "completion",
            "system_prompt",
            "category",
            "source",
            "status",
            "content_hash",
            "reviewer",
            "reviewed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TrainingExampleInputSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=20_000)
    completion = serializers.CharField(max_length=20_000)
    system_prompt = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=TrainingExample.Status.choices, default=TrainingExample.Status.DRAFT)


class TrainingExampleUpdateSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=20_000, required=False)
    completion = serializers.CharField(max_length=20_000, required=False)
    system_prompt = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)


class ReviewSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=10_000)
    status = serializers.ChoiceField(choices=TrainingExample.Status.choices)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    status = serializers.ChoiceField(choices=TrainingExample.Status.choices, default=TrainingExample.Status.DRAFT)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate_file(self, upload: Any) -> Any:
        from django.core.exceptions import ValidationError as DjangoValidationError

        from optiq_site.upload_limits import check_upload_size

        try:
            check_upload_size(upload=upload, field="file")
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["file"]) from None
        return upload


class LineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = LineErrorSerializer(many=True)  # type: ignore[assignment]


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=FORMATS, default="prompt_completion")
    status = serializers.ChoiceField(choices=[*TrainingExample.Status.values, "all"], default="approved")


class TrainingJobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.FloatField(read_only=True)
    base_model_name = serializers.CharField(source="base_model.name", default=None, read_only=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "name",
            "base_model",
            "base_model_name",
            "base_identifier",
            "chat_format",
            "example_ids",
            "dataset_hash",
            "data_file",
            "hyperparameters",
            "merge_quantized",
            "deploy_on_success",
            "output_dir",
            "status",
            "cancel_requested",
            "step",
            "total_steps",
            "progress_percent",
            "epoch",
            "eta_seconds",
            "train_loss",
            "eval_loss",
            "log_tail",
            "tokens_seen",
            "checkpoint_step",
            "attempts",
            "evaluation",
            "artifacts",
            "model_version",
            "worker",
            "device",
            "heartbeat_at",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class TrainingJobInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    base_model = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A registered model version id (default: the active chat model).",
    )
    base_identifier = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    chat_format = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    example_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=None,
        allow_null=True,
        help_text="Default: every approved example.",
    )
    hyperparameters = serializers.DictField(required=False, default=dict)
    merge_quantized = serializers.BooleanField(default=False)
    deploy_on_success = serializers.BooleanField(default=False)


class DeploySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    use_merged = serializers.BooleanField(default=False)
