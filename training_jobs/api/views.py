"""REST API for fine-tuning: examples (CRUD, review, import/export), readiness, jobs (create,
progress, cancel, deploy) and rollback."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.models import ModelVersion
from training_jobs.api.serializers import (
    DeploySerializer,
    ExportQuerySerializer,
    ImportReportSerializer,
    ImportSerializer,
    ReviewSerializer,
    TrainingExampleInputSerializer,
    TrainingExampleSerializer,
    TrainingExampleUpdateSerializer,
    TrainingJobInputSerializer,
    TrainingJobSerializer,
)
from training_jobs.models import TrainingExample, TrainingJob
from training_jobs.privacy_scan import findings_message
from training_jobs.selectors import training_examples_export_lines, training_job_list
from training_jobs.services import (
    training_example_create,
    training_example_update,
    training_examples_import,
    training_examples_review,
    training_job_cancel,
    training_job_create,
    training_job_deploy,
    training_job_rollback,
)


def _drf_error(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


class HasPerm(permissions.BasePermission):
    """Read needs `view_perm`; writes need `write_perm`."""

    view_perm = ""
    write_perm = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        needed = self.view_perm if request.method in permissions.SAFE_METHODS else self.write_perm
        return bool(user.has_perm(needed))


class ExamplePermission(HasPerm):
    view_perm = "training_jobs.view_trainingexample"
    write_perm = "training_jobs.change_trainingexample"

    def has_permission(self, request: Request, view: Any) -> bool:
        # Whoever may change examples may read them.
        if (
            request.method in permissions.SAFE_METHODS
            and request.user
            and request.user.is_authenticated
            and request.user.has_perm("training_jobs.change_trainingexample")
        ):
            return True
        return super().has_permission(request, view)


class JobPermission(HasPerm):
    view_perm = "training_jobs.view_trainingjob"
    write_perm = "training_jobs.run_training_job"


class TrainingExampleViewSet(viewsets.ModelViewSet):
    permission_classes = [ExamplePermission]
    serializer_class = TrainingExampleSerializer
    filterset_fields = ["status", "category", "source"]
    search_fields = ["prompt", "completion", "category"]
    ordering_fields = ["id", "created_at", "category"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[TrainingExample]:
        return TrainingExample.objects.all().order_by("id")

    @extend_schema(request=TrainingExampleInputSerializer, responses={201: TrainingExampleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TrainingExampleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            example = training_example_create(**data.validated_data, source="manual", created_by=request.user)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(TrainingExampleSerializer(example).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TrainingExampleUpdateSerializer, responses=TrainingExampleSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TrainingExampleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            example = training_example_update(example=self.get_object(), **data.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(TrainingExampleSerializer(example).data)

    @extend_schema(request=ReviewSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def review(self, request: Request) -> Response:
        data = ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        examples = TrainingExample.objects.filter(pk__in=data.validated_data["ids"])
        missing = set(data.validated_data["ids"]) - set(examples.values_list("pk", flat=True))
        if missing:
            raise ValidationError({"ids": f"no such examples: {sorted(missing)[:20]}"})
        changed = training_examples_review(
            examples=examples, status=data.validated_data["status"], reviewer=request.user
        )
        return Response({"changed": changed})

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses=ImportReportSerializer)
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_jsonl(self, request: Request) -> Response:
        data = ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = training_examples_import(
            lines=data.validated_data["file"],
            status=data.validated_data["status"],
            default_category=data.validated_data["category"],
            created_by=request.user,
        )
        return Response(report.as_dict(), status=status.HTTP_201_CREATED if report.created else status.HTTP_200_OK)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The export's `format` (prompt_completion, messages) is its own parameter, not DRF's
        # format override, which would answer 404 for a format no renderer has.
        return super().perform_content_negotiation(request, force=force or self.action == "export")

    @extend_schema(parameters=[ExportQuerySerializer], responses={(200, "application/jsonl"): str})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data["status"]
        examples = self.get_queryset() if wanted == "all" else self.get_queryset().filter(status=wanted)
        lines, findings = training_examples_export_lines(examples=examples, fmt=query.validated_data["format"])
        if findings:
            raise ValidationError({"examples": findings_message(findings, user=request.user, limit=50)})
        response = HttpResponse("".join(line + "\n" for line in lines), content_type="application/jsonl")
        response["Content-Disposition"] = 'attachment; filename="training-examples.jsonl"'
        return response


class ReadinessView(APIView):
    permission_classes = [JobPermission]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        from training_jobs.readiness import readiness_report
        from training_jobs.selectors import base_tokenizer_for_readiness

        tokenizer, chat_format = base_tokenizer_for_readiness()
        return Response(readiness_report(tokenizer=tokenizer, chat_format=chat_format).as_dict())


class TrainingJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    permission_classes = [JobPermission]
    serializer_class = TrainingJobSerializer
    filterset_fields = ["status"]
    ordering_fields = ["id", "created_at"]

    def get_queryset(self) -> QuerySet[TrainingJob]:
        return training_job_list()

    @extend_schema(request=TrainingJobInputSerializer, responses={201: TrainingJobSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TrainingJobInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        base = None
        if values["base_model"] is not None:
            base = ModelVersion.objects.filter(pk=values["base_model"]).first()
            if base is None:
                raise ValidationError({"base_model": f"no model version with id {values['base_model']}"})
        examples = None
        if values["example_ids"]:
            examples = list(TrainingExample.objects.filter(pk__in=values["example_ids"]))
            missing = set(values["example_ids"]) - {e.pk for e in examples}
            if missing:
                raise ValidationError({"example_ids": f"no such examples: {sorted(missing)[:20]}"})
        try:
            job = training_job_create(
                base_model=base,
                base_identifier=values["base_identifier"],
                chat_format=values["chat_format"],
                hyperparameters=values["hyperparameters"],
                examples=examples,
                name=values["name"],
                merge_quantized=values["merge_quantized"],
                deploy_on_success=values["deploy_on_success"],
                created_by=request.user,
            )
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TrainingJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        try:
            job = training_job_cancel(job=self.get_object(), user=request.user)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response(TrainingJobSerializer(job).data)

    @extend_schema(request=DeploySerializer, responses={200: dict})
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: str | None = None) -> Response:
        data = DeploySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = training_job_deploy(job=self.get_object(), user=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return Response({"model_version": version.pk, "name": version.name, "status": version.status})

    @extend_schema(request=None, responses={200: dict})
    @action(detail=False, methods=["post"])
    def rollback(self, request: Request) -> Response:
        try:
            version = training_job_rollback(user=request.user)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        assert version is not None  # the chat model is never switched off (only a router is)
        return Response({"model_version": version.pk, "name": version.name, "status": version.status})
